// messages.js — the page's element lookup and its two message lines: #error (an
// alert, with the engine's or the page's message) and #status (what happens now).
// Shared by the page's panels (app.js, controls.js, photos.js).

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
