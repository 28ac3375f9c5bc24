/* objective_expr.h — the objective as text: one grammar for the CLI, manifests
 * and the page (they all send it to the engine, which parses it here), and its
 * canonical form, which parses back to the same terms.
 *
 * Every objective is MAXIMIZED: a term's weight is its sign (a penalty or
 * diversity is subtracted). Grammar (spaces are free between tokens):
 *
 *   expr    := ['+' | '-'] product (('+' | '-') product)*
 *   product := (NUMBER '*')* factor (('*' | '/') NUMBER)*
 *   factor  := '(' expr ')' | term
 *   term    := LAYER ':' C                         channel C (mean over space)
 *            | LAYER ':' C '@' X ',' Y              neuron at (X, Y) (x along the width)
 *            | neuron(LAYER ':' C [, x=X] [, y=Y])  neuron; a coordinate left out is the centre
 *            | channel(LAYER ':' C)
 *            | deepdream(LAYER)                     mean of squares of the layer
 *            | class(NAME | INDEX)                  a logit: a class name the labels give, or the output index
 *            | direction(LAYER, VECTOR [, cossim=P])   mean over positions of dot·max(0.1, cos)^P (Lucid)
 *            | interpolate(LAYER, C1, C2)          across the batch, from channel C1 to C2
 *            | alignment(LAYER) | diversity(LAYER)  across the batch (subtract diversity to diversify)
 *            | caricature(LAYER, PHOTO [, cossim=P]) the photo's whole activation tensor at LAYER, dot·cos^P
 *            | l1 | l2 | tv | blur | prior          image penalties (subtract them); l1(constant=0.5);
 *                                                   prior: the patch prior's −log p per coordinate (src/prior.h)
 *   VECTOR  := ['+' | '-'] vpart (('+' | '-') vpart)*,  vpart := [NUMBER '*'] (unit(C) | random(SEED)
 *              | photo(PHOTO) | PHOTO | '[' NUMBER (',' NUMBER)* ']')
 *              unit: a basis vector; random: a unit vector from a seed; a photo: its mean activation
 *   Any function term also takes batch=B (only image B of the batch).
 *   LAYER   := a name (letters, digits, _ . / and - inside), a "quoted name" (\" and \\ escape), or an index
 *   PHOTO   := a name as LAYER's, the key of its activations in the options' "photos"
 *
 * Errors name the character (1-based, counted in characters): "objective at 23:
 * unknown layer \"inception_4x/output\"". The canonical form writes weights in
 * their shortest exact decimal, names bare where they can be, and one term per
 * summand: parse(write(o)) gives the same terms, bit for bit.
 *
 *   if (!fv_expr_parse(text, len, 1.0, model, labels, labels_len, "objective", &opts, &err)) ...;
 *   fv_jbuf b = {0}; fv_expr_write(&b, &opts, model); char *canon = fv_jbuf_finish(&b);
 *
 * The terms land in an fv_render_opts (options.h), which owns what they point
 * to; photo references are added to its photo table (values still missing);
 * options.c resolves vectors and photos afterwards.
 *
 * A new term: its kind in objective.h (value, gradient, check), a branch in
 * parse_function and in fv_expr_write_term here (the canonical form must parse
 * back to the same term: tests/c/objective_expr_test.c's canon() checks it), and
 * its JSON keys in options.c's KINDS if term objects should name it too.
 */
#ifndef FV_OBJECTIVE_EXPR_H
#define FV_OBJECTIVE_EXPR_H

#include <stddef.h>

#include "json.h"
#include "options.h"
#include "vectors.h"

#define FV_EXPR_MAX_DEPTH 16 /* nested parentheses */

/* Parses text[0..len) and appends its terms to o, each weight multiplied by scale. labels:
 * the model's class names, one output a line (NULL: class(...) takes indices only). where:
 * how messages name the text ("objective"). 1, or 0 with err set (o keeps the terms appended
 * so far: fv_options_free releases them). */
int fv_expr_parse(const char *text, size_t len, double scale, const fv_model *m, const char *labels, size_t labels_len,
                  const char *where, fv_render_opts *o, fv_error *err);

/* The canonical expression of o's terms. */
void fv_expr_write(fv_jbuf *b, const fv_render_opts *o, const fv_model *m);
/* Term i alone, without its weight ("L:12", "direction(L, unit(3) - unit(5))"). */
void fv_expr_write_term(fv_jbuf *b, const fv_render_opts *o, int i, const fv_model *m);
/* A float in the shortest decimal that reads back as the same float. */
void fv_expr_write_number(fv_jbuf *b, float x);

/* The output index that a class name names: "text (89)" gives 89; else the first line of
 * labels (one output a line) one of whose comma-separated names equals name, ignoring case
 * and surrounding spaces; -1 if none. */
int fv_expr_class_find(const char *labels, size_t labels_len, const char *name, size_t n);

#endif
