// objective.js — the page's objective as an expression: a term list (add, weight, negate,
// remove) and the expression it makes, shown and editable. The page writes no grammar:
// every change goes to the engine (pool.describe, src/objective_expr.c), which answers
// with the canonical expression and its terms; a mistake shows the engine's message,
// which names the character, and the caret goes there.
//
//   const objective = new Objective(app, { onChange: () => … });
//   objective.bind();
//   await objective.show();              // after the state or the model changed
//   await objective.add(term);            // a term object (options.js objectiveTerm) or an expression
//
// app.state.expr is the expression when the list is in use, '' when the objective
// controls above it (objective, layer, channel, ...) are the objective. Penalties and
// diversity stay their own controls: renderOptions adds them to either.
//
// Elements: #expression (textarea), #expression-error, #expression-mode, #terms (li.term
// per term: code.term-text, input.term-weight, button.term-negate, button.term-remove),
// #term-add, #terms-clear, #class-name.
import { $ } from './messages.js';
import { objectiveTerm } from '../wasm/options.js';

export class Objective {
  constructor(app, { onChange }) {
    this.app = app;
    this.onChange = onChange;     // the expression changed (by the user)
    this.terms = [];              // [{ weight, kind, text, layer, channel }] of the last description
    this.seq = 0;
    this.shown = '';              // the term list on the page, as JSON (render)
    this.gen = 0;                 // edits started (set): a stale one is dropped
  }

  /** The objective part the list describes: the expression, else the objective controls' term. */
  main() {
    const s = this.app.state;
    return s.expr || objectiveTerm(s);
  }

  async describe(objective) {
    const s = this.app.state;
    return this.app.pool.describe(this.app.modelKey, { size: s.size, batch: s.batch, objective });
  }

  /** Shows the objective as the engine reads it (or its error). */
  async show() {
    if (!this.app.modelKey) return;
    const seq = ++this.seq;
    try {
      const d = await this.describe(this.main());
      if (seq !== this.seq) return;
      this.render(d);
    } catch (e) {
      if (seq !== this.seq) return;
      this.fail(e, this.app.state.expr);
    }
  }

  render(d) {
    const s = this.app.state;
    this.terms = d.terms;
    this.error('');
    $('expression').value = d.expression;
    $('expression-mode').textContent = s.expr
      ? 'The objective is this expression; the controls above build terms to add to it.'
      : 'The objective is the term the controls above describe; add terms to build a sum.';
    // The same list again (a show() that an edit's own onChange set off) keeps its elements:
    // rebuilt between a click's mousedown and mouseup, the click would be lost.
    const key = JSON.stringify([d.terms, !!s.expr]);
    if (key !== this.shown) $('terms').replaceChildren(...d.terms.map((t, i) => this.row(t, i, !!s.expr)));
    this.shown = key;
    // a class term names its class: the engine resolved the text to an index, the labels name it
    const cls = d.terms.find((t) => t.kind === 'class');
    $('class-name').textContent = !s.expr && s.objective === 'class' && cls ? `class ${cls.channel}: ${this.app.labels.name(cls.channel)}` : '';
  }

  row(t, i, editable) {
    const li = document.createElement('li');
    li.className = 'term';
    li.dataset.index = String(i);
    const w = document.createElement('input');
    w.type = 'number';
    w.step = 'any';
    w.className = 'term-weight';
    w.value = String(t.weight);
    w.setAttribute('aria-label', `weight of ${t.text}`);
    const code = document.createElement('code');
    code.className = 'term-text';
    code.textContent = t.text;
    const neg = document.createElement('button');
    neg.type = 'button';
    neg.className = 'term-negate';
    neg.textContent = '±';
    neg.title = 'negate (minimize this term)';
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'term-remove';
    rm.textContent = '×';
    rm.title = 'remove';
    li.append(w, code, neg, rm);
    if (!editable) li.title = 'editing a term turns the objective into an expression';
    return li;
  }

  error(msg) {
    $('expression-error').textContent = msg;
    $('expression-error').hidden = !msg;
  }

  /** The engine's message; the caret at the character it names ("objective at 23: ..."). */
  fail(e, text) {
    this.error(e.message);
    const at = / at (\d+):/.exec(e.message);
    if (at && text) {
      const box = $('expression');
      box.value = text;
      const chars = [...text], k = Math.min(chars.length, Number(at[1]) - 1);
      const off = chars.slice(0, k).join('').length; // characters → UTF-16 offset
      box.setSelectionRange(off, off);
    }
  }

  /** Sets the objective to what these elements make (as the engine writes it); [] goes back to the controls. */
  async set(elements) {
    // The latest edit wins: Enter fires both keydown and change, and a click may
    // come while an earlier edit's description is on its way back.
    const gen = ++this.gen;
    let expr = '';
    if (elements.length) {
      const one = elements.length === 1 && typeof elements[0] === 'string';
      let d;
      try {
        d = await this.describe(one ? elements[0] : elements); // a lone expression: "objective at N" in messages
      } catch (e) {
        if (gen === this.gen) throw e;
        return;
      }
      if (gen !== this.gen) return;
      expr = d.expression;
    }
    this.app.state.expr = expr;
    await this.show();
    this.onChange();
  }

  current() { return this.terms.map((t) => ({ expr: t.text, weight: t.weight })); }

  /** Adds a term (a term object or an expression) to the objective. */
  async add(term) {
    const base = this.app.state.expr ? this.current() : [];
    await this.set([...base, term]);
  }

  async typed() {
    const text = $('expression').value.trim();
    // Enter, then the blur of a click on the term list, fire change with the text already set: no edit.
    // (Described again, the list would be rebuilt between the click's mousedown and mouseup, and the click lost.)
    if (text && text === this.app.state.expr && $('expression-error').hidden) return;
    if (!text) return this.set([]);
    try {
      await this.set([text]);
    } catch (e) {
      this.fail(e, text);
    }
  }

  bind() {
    $('expression').addEventListener('change', () => this.typed());
    $('expression').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.typed();
      }
    });
    $('term-add').addEventListener('click', () => this.add(objectiveTerm(this.app.state)).catch((e) => this.fail(e, '')));
    $('terms-clear').addEventListener('click', () => this.set([]));
    const edit = (i, f) => {
      const list = this.current();
      f(list, i);
      this.set(list.filter(Boolean)).catch((e) => this.fail(e, ''));
    };
    $('terms').addEventListener('click', (e) => {
      const li = e.target.closest('li.term');
      if (!li) return;
      const i = Number(li.dataset.index);
      if (e.target.closest('.term-negate')) edit(i, (l) => { l[i].weight = -l[i].weight; });
      if (e.target.closest('.term-remove')) edit(i, (l) => { l[i] = null; });
    });
    $('terms').addEventListener('change', (e) => {
      const input = e.target.closest('input.term-weight');
      if (!input) return;
      const i = Number(input.closest('li.term').dataset.index), w = Number(input.value);
      if (input.value.trim() === '' || !Number.isFinite(w)) return this.error(`the weight of ${this.terms[i]?.text} must be a number`);
      edit(i, (l) => { l[i].weight = w; });
    });
  }
}
