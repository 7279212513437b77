'use strict';
// The upload page: no framework, no build step. The server inlines this file into index.html and
// allows it by its SHA-256 hash in the Content-Security-Policy.
(() => {
  const config = JSON.parse(document.getElementById('page-config').textContent);
  const POLL_DELAYS_MS = [500, 1000, 1500, 2500, 4000, 6000, 8000, 10000]; // ~34 s, then stop
  const RECENT_MS = 2 * 60 * 1000; // listed uploads younger than this may still get a thumbnail
  const DELETE_CONFIRM_MS = 4000;
  const TYPE_NAMES = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/gif': 'GIF', 'image/webp': 'WebP' };

  const form = document.getElementById('upload-form');
  const fileInput = document.getElementById('file-input');
  const queue = document.getElementById('queue');
  const gallery = document.getElementById('gallery');
  const galleryStatus = document.getElementById('gallery-status');
  const loadMoreButton = document.getElementById('load-more');
  const announcer = document.getElementById('announcer');
  const cards = new Map(); // upload id -> its <li>
  let cursor = null;

  // --- API calls -------------------------------------------------------------------------------
  // Every call to the API goes through authorized(): a sign-in sets session.token, all calls then
  // carry it, and a token about to expire is refreshed first (freshToken, below). Presigned S3
  // requests never carry it (their URL is the credential).
  const session = { token: null };
  async function authorized(headers = {}) {
    await freshToken();
    return session.token ? { ...headers, authorization: `Bearer ${session.token}` } : headers;
  }

  class RequestError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code; // the API's error code, if it sent one
    }
  }

  // "Could not sign in: " + sentence("Incorrect username or password.") ends in one period.
  const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

  function errorMessage(status, text) {
    try {
      const body = JSON.parse(text);
      if (body && body.error && body.error.message) return body.error.message;
      if (body && body.message) return body.message; // API Gateway's own errors
    } catch {
      const s3Message = /<Message>([^<]*)<\/Message>/.exec(text || '');
      if (s3Message) return s3Message[1];
    }
    return status ? `the server answered ${status}` : 'the network request failed';
  }

  async function api(method, path, body) {
    const init = { method, headers: await authorized() };
    if (body !== undefined) {
      init.headers = await authorized({ 'content-type': 'application/json' });
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new RequestError('the network request failed', 0);
    }
    const text = await response.text();
    if (response.status === 401 && auth.mode === 'cognito') endSession('Your session has ended.');
    if (!response.ok) throw new RequestError(errorMessage(response.status, text), response.status);
    return text ? JSON.parse(text) : null;
  }

  // XMLHttpRequest rather than fetch: only it reports upload progress.
  function send({ url, body, headers = {}, onProgress }) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(xhr.responseText ? safeJson(xhr.responseText) : null);
        } else {
          const code = ((safeJson(xhr.responseText) || {}).error || {}).code;
          reject(new RequestError(errorMessage(xhr.status, xhr.responseText), xhr.status, code));
        }
      });
      xhr.addEventListener('error', () => reject(new RequestError('the upload failed (network)', 0)));
      xhr.send(body);
    });
  }

  function safeJson(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  // --- Sign-in (auth "cognito") ------------------------------------------------------------------
  // The page calls the user pool's own API (InitiateAuth with USER_PASSWORD_AUTH, over TLS to
  // Cognito) and keeps the tokens for this tab only (sessionStorage). Access tokens are short-lived
  // (15 minutes by default: the API cannot see a sign-out, see docs/security.md), so the page trades
  // the refresh token for a new one shortly before it expires (REFRESH_TOKEN_AUTH), without asking;
  // when that fails (signed out elsewhere, refresh token expired) it asks to sign in again.
  const REFRESH_MARGIN_MS = 60 * 1000;
  const auth = config.auth || { mode: 'none' };
  const account = document.getElementById('account');
  const uploadPanel = form.closest('section');
  const SESSION_KEY = 'uploads.session';
  const CHALLENGES = {
    NEW_PASSWORD_REQUIRED: { field: 'NEW_PASSWORD', label: 'New password', type: 'password', autocomplete: 'new-password' },
    SOFTWARE_TOKEN_MFA: { field: 'SOFTWARE_TOKEN_MFA_CODE', label: 'Authenticator code', type: 'text', autocomplete: 'one-time-code' },
  };
  Object.assign(session, safeJson(sessionStorage.getItem(SESSION_KEY) || '') || {});
  let refreshing = null; // the refresh under way: concurrent calls wait for the same one

  function freshToken() {
    if (auth.mode !== 'cognito' || !session.refreshToken) return Promise.resolve();
    if (Date.now() < session.expiresAt - REFRESH_MARGIN_MS) return Promise.resolve();
    refreshing = refreshing || cognito('InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: auth.clientId,
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    }).then((result) => {
      saveTokens(result.AuthenticationResult);
    }, () => {
      endSession('Your session has ended: sign in again.');
    }).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  function saveTokens({ AccessToken, ExpiresIn, RefreshToken }) {
    session.token = AccessToken;
    session.expiresAt = Date.now() + ExpiresIn * 1000;
    if (RefreshToken) session.refreshToken = RefreshToken; // a refresh answers without one
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  async function cognito(action, body) {
    let response;
    try {
      response = await fetch(auth.endpoint + '/', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AWSCognitoIdentityProviderService.${action}`,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new RequestError('the sign-in service cannot be reached', 0);
    }
    const data = safeJson(await response.text()) || {};
    if (!response.ok) {
      throw new RequestError(data.message || data.Message || `sign-in failed (${response.status})`, response.status);
    }
    return data;
  }

  function field(id, label, type, autocomplete) {
    const wrapper = element('div', 'field');
    const labelNode = element('label', '', label);
    labelNode.htmlFor = id;
    const input = element('input');
    Object.assign(input, { id, type, autocomplete, required: true });
    wrapper.append(labelNode, input);
    return [wrapper, input];
  }

  function signInForm() {
    const signIn = element('form', 'sign-in');
    signIn.id = 'sign-in-form';
    const [emailField, email] = field('sign-in-email', 'Email', 'email', 'username');
    const [passwordField, password] = field('sign-in-password', 'Password', 'password', 'current-password');
    const [extraField, extra] = field('sign-in-extra', '', 'text', 'off');
    extraField.hidden = true;
    extra.required = false;
    const submit = element('button', 'button button-primary', 'Sign in');
    submit.type = 'submit';
    const status = element('p', 'sign-in-status');
    status.setAttribute('role', 'alert');
    let challenge = null;
    signIn.append(emailField, passwordField, extraField, submit, status);
    signIn.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      status.textContent = '';
      try {
        const result = challenge
          ? await cognito('RespondToAuthChallenge', {
            ClientId: auth.clientId, ChallengeName: challenge.name, Session: challenge.session,
            ChallengeResponses: { USERNAME: email.value, [CHALLENGES[challenge.name].field]: extra.value },
          })
          : await cognito('InitiateAuth', {
            AuthFlow: 'USER_PASSWORD_AUTH', ClientId: auth.clientId,
            AuthParameters: { USERNAME: email.value, PASSWORD: password.value },
          });
        if (result.AuthenticationResult) {
          startSession(result.AuthenticationResult, email.value);
        } else if (CHALLENGES[result.ChallengeName]) {
          challenge = { name: result.ChallengeName, session: result.Session };
          const wanted = CHALLENGES[result.ChallengeName];
          extraField.querySelector('label').textContent = wanted.label;
          Object.assign(extra, { type: wanted.type, autocomplete: wanted.autocomplete, required: true, value: '' });
          extraField.hidden = false;
          extra.focus();
          status.textContent = `${wanted.label} needed to finish signing in.`;
        } else {
          status.textContent = `This page cannot answer the ${result.ChallengeName} challenge.`;
        }
      } catch (error) {
        status.textContent = `Could not sign in: ${sentence(error.message)}`;
      } finally {
        submit.disabled = false;
      }
    });
    return signIn;
  }

  function renderAccount() {
    account.replaceChildren();
    if (auth.mode !== 'cognito') return;
    uploadPanel.hidden = !session.token;
    if (session.token) {
      const signOut = element('button', 'button', 'Sign out');
      signOut.type = 'button';
      signOut.id = 'sign-out';
      signOut.addEventListener('click', () => {
        const token = session.token;
        endSession('Signed out.');
        // Revokes the user's refresh tokens; access tokens already issued work until they expire.
        cognito('GlobalSignOut', { AccessToken: token }).catch(() => {});
      });
      account.append(element('span', 'account-name', session.email), signOut);
    } else {
      account.append(signInForm());
      galleryStatus.textContent = 'Sign in to see and add your images.';
    }
  }

  function resetGallery() {
    cards.clear();
    gallery.replaceChildren();
    cursor = null;
    loadMoreButton.hidden = true;
  }

  function startSession(tokens, email) {
    session.email = email;
    saveTokens(tokens);
    resetGallery();
    renderAccount();
    announce(`Signed in as ${email}.`);
    loadMore();
  }

  function endSession(message) {
    Object.assign(session, { token: null, email: null, refreshToken: null, expiresAt: 0 });
    sessionStorage.removeItem(SESSION_KEY);
    resetGallery();
    renderAccount();
    announce(message);
  }

  // --- Formatting and small helpers -------------------------------------------------------------
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function formatBytes(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    const units = ['KB', 'MB', 'GB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function announce(text) {
    announcer.textContent = '';
    setTimeout(() => { announcer.textContent = text; }, 50);
  }

  // "JPEG, PNG, GIF, or WebP": the one wording of the accepted types on this page
  function typeNames() {
    const names = config.imageTypes.map((type) => TYPE_NAMES[type] || type);
    return new Intl.ListFormat('en', { type: 'disjunction' }).format(names);
  }

  const notAnImage = () => `Not a ${typeNames()} image`;

  // --- Gallery -----------------------------------------------------------------------------------
  function createCard(item) {
    const card = element('li', 'card');
    card.dataset.id = item.id;
    const link = element('a', 'thumb');
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    const body = element('div', 'card-body');
    const title = element('p', 'card-title');
    const meta = element('p', 'card-meta');
    const date = element('p', 'card-meta card-date');
    const actions = element('div', 'card-actions');
    const remove = element('button', 'button button-small button-danger delete', 'Delete');
    remove.type = 'button';
    remove.addEventListener('click', () => onDeleteClick(card, remove));
    actions.append(remove);
    body.append(title, meta, date, actions);
    card.append(link, body);
    card.addEventListener('pointerenter', () => refreshIfStale(card));
    card.addEventListener('focusin', () => refreshIfStale(card));
    cards.set(item.id, card);
    fillCard(card, item);
    showPlaceholder(card, 'Loading…', true);
    return card;
  }

  function fillCard(card, upload) {
    // A presigned upload has no stored file name: keep the one this page sent, if any.
    if (upload.filename) card.dataset.name = upload.filename;
    const name = card.dataset.name || `${TYPE_NAMES[upload.contentType] || 'Image'} image`;
    card.querySelector('.card-title').textContent = name;
    card.querySelector('.card-title').title = name;
    const type = TYPE_NAMES[upload.contentType] || upload.contentType;
    card.querySelector('.card-meta').textContent = `${type} · ${formatBytes(upload.size)}`;
    if (upload.lastModified) {
      card.querySelector('.card-date').textContent = dateFormat.format(new Date(upload.lastModified));
    }
    card.querySelector('.delete').setAttribute('aria-label', `Delete ${name}`);
    const link = card.querySelector('.thumb');
    link.setAttribute('aria-label', `Open ${name} (original, new tab)`);
    if (upload.downloadUrl) {
      link.href = upload.downloadUrl;
      card.dataset.fetchedAt = String(Date.now());
    }
    if (upload.thumbnailUrl) {
      const image = element('img');
      image.alt = '';
      image.src = upload.thumbnailUrl;
      image.decoding = 'async';
      link.replaceChildren(image);
      card.dataset.thumbnail = 'yes';
    }
  }

  function showPlaceholder(card, text, busy) {
    if (card.dataset.thumbnail === 'yes') return;
    const holder = element('span', 'thumb-placeholder');
    if (busy) holder.append(element('span', 'spinner'));
    holder.append(element('span', '', text));
    card.querySelector('.thumb').replaceChildren(holder);
  }

  // Presigned links expire (urlExpirySeconds): fetch fresh ones before a stale link is used.
  function refreshIfStale(card) {
    const age = Date.now() - Number(card.dataset.fetchedAt || 0);
    if (card.dataset.fetchedAt && age > (config.urlExpirySeconds * 1000) / 2) {
      card.dataset.fetchedAt = String(Date.now());
      api('GET', `uploads/${card.dataset.id}`).then((upload) => fillCard(card, upload), () => {});
    }
  }

  // Show an upload's details; until on_upload has written its thumbnail, poll with backoff.
  async function loadCard(card, recent) {
    const id = card.dataset.id;
    for (let attempt = 0; ; attempt += 1) {
      let upload = null;
      try {
        upload = await api('GET', `uploads/${id}`);
      } catch (error) {
        if (error.status === 404) {
          removeCard(card, 'was not an image we accept, so it was removed');
          return;
        }
      }
      if (!card.isConnected) return;
      if (upload) fillCard(card, upload);
      if (upload && upload.thumbnailUrl) return;
      if (upload && upload.thumbnailError) break; // kept, but it cannot be decoded
      if (!recent || attempt >= POLL_DELAYS_MS.length) break;
      showPlaceholder(card, 'Making thumbnail…', true);
      await sleep(POLL_DELAYS_MS[attempt]);
      if (!card.isConnected) return;
    }
    showPlaceholder(card, 'No preview. Open the original.', false);
  }

  function removeCard(card, reason) {
    const name = card.querySelector('.card-title').textContent;
    cards.delete(card.dataset.id);
    card.remove();
    updateEmptyState();
    if (reason) announce(`${name} ${reason}`);
  }

  function updateEmptyState() {
    if (cards.size === 0 && !cursor) {
      galleryStatus.textContent = 'No images yet. Upload one above.';
    } else if (galleryStatus.dataset.kind !== 'error') {
      galleryStatus.textContent = '';
    }
  }

  async function loadMore() {
    loadMoreButton.disabled = true;
    galleryStatus.dataset.kind = '';
    try {
      const query = new URLSearchParams({ limit: String(config.pageSize) });
      if (cursor) query.set('cursor', cursor);
      const page = await api('GET', `uploads?${query}`);
      cursor = page.nextCursor;
      const fresh = page.items.filter((item) => !cards.has(item.id));
      const added = fresh.map((item) => {
        const card = createCard(item);
        gallery.append(card);
        return [card, Date.now() - Date.parse(item.lastModified) < RECENT_MS];
      });
      updateEmptyState();
      await inBatches(added, 4, ([card, recent]) => loadCard(card, recent));
    } catch (error) {
      galleryStatus.dataset.kind = 'error';
      galleryStatus.textContent = `Could not load the gallery: ${sentence(error.message)}`;
    } finally {
      loadMoreButton.hidden = !cursor;
      loadMoreButton.disabled = false;
    }
  }

  // Run `work` on every item, at most `limit` at a time (keeps the API's burst small).
  async function inBatches(items, limit, work) {
    const pending = [...items];
    const worker = async () => {
      while (pending.length) await work(pending.shift());
    };
    await Promise.all(Array.from({ length: Math.min(limit, pending.length) }, worker));
  }

  // Two steps: the first click arms the button, a second within a few seconds deletes.
  function onDeleteClick(card, button) {
    if (!button.classList.contains('is-armed')) {
      button.classList.add('is-armed');
      button.textContent = 'Confirm delete';
      setTimeout(() => {
        if (button.isConnected && !button.disabled) {
          button.classList.remove('is-armed');
          button.textContent = 'Delete';
        }
      }, DELETE_CONFIRM_MS);
      return;
    }
    deleteCard(card, button);
  }

  async function deleteCard(card, button) {
    button.disabled = true;
    button.textContent = 'Deleting…';
    const next = card.nextElementSibling || card.previousElementSibling;
    try {
      await api('DELETE', `uploads/${card.dataset.id}`);
    } catch (error) {
      if (error.status !== 404) {
        button.disabled = false;
        button.classList.remove('is-armed');
        button.textContent = 'Delete';
        announce(`Could not delete: ${error.message}`);
        return;
      }
    }
    removeCard(card, 'was deleted');
    (next ? next.querySelector('.delete') : document.getElementById('gallery-heading')).focus();
  }

  // --- Uploading ---------------------------------------------------------------------------------
  function createJob(file) {
    const job = element('li', 'job');
    const name = element('span', 'job-name', file.name);
    name.title = file.name;
    const progress = element('progress');
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute('aria-label', `Upload of ${file.name}`);
    const status = element('span', 'job-status', 'Waiting…');
    job.append(name, progress, status);
    queue.append(job);
    return {
      progress(fraction) {
        progress.value = Math.round(fraction * 100);
        status.textContent = `${progress.value}%`;
      },
      done(text) {
        progress.value = 100;
        job.classList.add('is-done');
        status.textContent = text;
        setTimeout(() => job.remove(), 4000);
      },
      fail(text) {
        job.classList.add('is-error');
        status.textContent = text;
        const dismiss = element('button', 'button button-small', 'Dismiss');
        dismiss.type = 'button';
        dismiss.setAttribute('aria-label', `Dismiss the error for ${file.name}`);
        dismiss.addEventListener('click', () => {
          job.remove();
          fileInput.focus();
        });
        job.replaceChildren(name, status, dismiss);
        announce(`${file.name}: ${text}`);
      },
    };
  }

  async function uploadFile(file) {
    const job = createJob(file);
    if (!config.imageTypes.includes(file.type)) {
      job.fail(notAnImage());
      return;
    }
    if (file.size > config.presignMaxBytes) {
      job.fail(`Too large (limit ${formatBytes(config.presignMaxBytes)})`);
      return;
    }
    try {
      let id;
      if (file.size <= config.maxUploadBytes) {
        // Small enough for the API: the raw bytes, typed by the server from their magic bytes.
        const query = new URLSearchParams({ filename: file.name });
        const created = await send({
          url: `uploads?${query}`,
          body: file,
          headers: await authorized({ 'content-type': file.type }),
          onProgress: job.progress,
        });
        id = created.id;
      } else {
        // Too large for the API: a presigned POST straight to S3 (the bucket's CORS allows us).
        const ticket = await api('POST', 'uploads/presign', {
          contentType: file.type,
          size: file.size,
          filename: file.name,
        });
        const body = new FormData();
        for (const [name, value] of Object.entries(ticket.fields)) body.append(name, value);
        body.append('file', file);
        await send({ url: ticket.url, body, onProgress: job.progress });
        id = ticket.id;
      }
      job.done('Uploaded');
      announce(`${file.name} uploaded`);
      addNewUpload(id, file);
    } catch (error) {
      if (error.code === 'unsupported_media_type') {
        job.fail(notAnImage()); // the server's check: the same words as the page's own
        return;
      }
      job.fail(error.message.charAt(0).toUpperCase() + error.message.slice(1));
    }
  }

  function addNewUpload(id, file) {
    if (cards.has(id)) return;
    const card = createCard({ id, filename: file.name, contentType: file.type, size: file.size });
    gallery.prepend(card);
    updateEmptyState();
    loadCard(card, true);
  }

  async function uploadFiles(files) {
    for (const file of files) await uploadFile(file); // one at a time: clear progress, small bursts
  }

  // --- Wiring ------------------------------------------------------------------------------------
  fileInput.accept = config.imageTypes.join(',');
  document.getElementById('upload-hint').textContent =
    `${typeNames()}, up to ${formatBytes(config.presignMaxBytes)}. ` +
    `Files over ${formatBytes(config.maxUploadBytes)} go straight to S3.`;

  fileInput.addEventListener('change', () => {
    const files = [...fileInput.files];
    fileInput.value = '';
    uploadFiles(files);
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  // Space opens a focused file input natively; Enter should too, as on the button it looks like.
  fileInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      fileInput.click();
    }
  });

  let dragDepth = 0;
  form.addEventListener('dragenter', (event) => {
    event.preventDefault();
    dragDepth += 1;
    form.classList.add('is-dragging');
  });
  form.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) form.classList.remove('is-dragging');
  });
  form.addEventListener('dragover', (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  form.addEventListener('drop', (event) => {
    event.preventDefault();
    dragDepth = 0;
    form.classList.remove('is-dragging');
    uploadFiles([...event.dataTransfer.files]);
  });
  // A file dropped next to the drop zone must not replace the page with the image.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());

  loadMoreButton.addEventListener('click', loadMore);
  renderAccount();
  if (auth.mode !== 'cognito' || session.token) loadMore();
})();
