// messages.js — the page's element lookup, its two message lines: #error (an
// alert, with the engine's or the page's message) and #status (what happens now),
// and saving a file. Shared by the page's panels (app.js, controls.js, photos.js, prior.js).

export const $ = (id) => document.getElementById(id);

/** Shows e's message in #error (hidden when e is empty). */
export function showError(e) {
  const msg = e ? String(e.message ?? e) : '';
  $('error-text').textContent = msg;
  $('error').hidden = !msg;
  if (msg) console.warn('featviz:', msg);
}
export const clearError = () => showError(null);
export const say = (text) => { $('status').textContent = text; };
/** Runs an async handler, showing any failure in the page. */
export const guard = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch(showError);

/** Saves bytes (or text) as a download named name. */
export function download(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
