// The components from TypeScript. `pulumi package add ../../plugin` (see README.md) generates the
// SDK in sdks/uploads and adds "@pulumi/uploads" to package.json; the committed sdks/uploads is a
// thin one generated from schema.json (scripts/typescript_sdk.py).
import * as pulumi from "@pulumi/pulumi";
import * as uploads from "@pulumi/uploads";

const config = new pulumi.Config();

const files = new uploads.StorageBucket("files", {
    corsOrigins: ["https://app.example.com"],
    noncurrentVersionExpirationDays: 30,
    // A key ARN kept secret in state: secrets cross into the component and its children.
    kmsKey: config.requireSecret("filesKeyArn"),
});

const service = new uploads.UploadService("service", {
    auth: "none",
    bucket: { kmsKey: "create", forceDestroy: true },
    function: { memoryMb: 512 },
    api: { throttlingRateLimit: 20 },
    thumbnailMaxPx: 128,
});

export const url = service.url;
export const uploadsBucket = service.bucketName;
export const filesBucket = files.name;
export const filesKeyArn = files.kmsKeyArn; // secret: the input was
