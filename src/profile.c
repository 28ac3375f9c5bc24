/* profile.c — per-op timing slots (see profile.h). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */

#include "profile.h"

#include "graph.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define FV_PROFILE_SLOTS 512 /* level FV_PROFILE_LAYERS: a slot per op and direction (GoogLeNet: about 300) */
#define STAGE (-1) /* the kind of a step stage's slot (op kinds are >= 0) */

typedef struct {
  int kind, kh, kw, stride, act, backward; /* the key; kind STAGE: a step stage, keyed by name */
  int op;                                  /* and the op's index at level FV_PROFILE_LAYERS, else -1 */
  char name[40];
  double ms, flops;
  long calls;
} slot;

int fv_profile_on = 0;
static slot slots[FV_PROFILE_SLOTS];
static int n_slots;

double fv_profile_now_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0.0;
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int windowed(int kind) {
  return kind == FV_OP_CONV2D || kind == FV_OP_DWCONV2D || kind == FV_OP_AVGPOOL2D || kind == FV_OP_MAXPOOL2D;
}

/* The slot of a key, created on first use; NULL when the table is full (then the op goes untimed). */
/* FV_OP_ACT's slots are per activation ("ACTIVATION SIGMOID"). */
static const char *act_name(int act) {
  static const char *const names[FV_ACT_COUNT] = {"NONE", "RELU", "RELU6", "CLIP", "LEAKY_RELU", "SIGMOID",
                                                  "HARD_SIGMOID", "HARD_SWISH", "TANH"};
  return act >= 0 && act < FV_ACT_COUNT ? names[act] : "?";
}

static slot *slot_of(int kind, int kh, int kw, int stride, int act, int backward, int op) {
  for (int i = 0; i < n_slots; i++) {
    slot *s = &slots[i];
    if (s->kind == kind && s->kh == kh && s->kw == kw && s->stride == stride && s->act == act &&
        s->backward == backward && s->op == op)
      return s;
  }
  if (n_slots == FV_PROFILE_SLOTS) return NULL;
  slot *s = &slots[n_slots++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->kh = kh;
  s->kw = kw;
  s->stride = stride;
  s->act = act;
  s->backward = backward;
  s->op = op;
  const char *name = fv_op_name((fv_op_kind)kind);
  int n;
  if (kind == FV_OP_ACT) n = snprintf(s->name, sizeof s->name, "%s %s", name, act_name(act));
  else if (!windowed(kind)) n = snprintf(s->name, sizeof s->name, "%s", name);
  else if (stride > 1) n = snprintf(s->name, sizeof s->name, "%s %dx%d s%d", name, kh, kw, stride);
  else n = snprintf(s->name, sizeof s->name, "%s %dx%d", name, kh, kw);
  if (op >= 0 && n >= 0 && (size_t)n < sizeof s->name) snprintf(s->name + n, sizeof s->name - (size_t)n, " #%d", op);
  return s;
}

void fv_profile_add(const fv_model *m, int i, const fv_conv_shape *s, const int y[4], int backward, double t0_ms) {
  const double dt = fv_profile_now_ms() - t0_ms;
  const fv_op *op = &m->ops[i];
  const int win = windowed(op->kind);
  const int stride = !win ? 0 : s->sh > s->sw ? s->sh : s->sw;
  slot *sl = slot_of(op->kind, win ? s->kh : 0, win ? s->kw : 0, stride, op->kind == FV_OP_ACT ? (int)op->act : 0,
                     backward != 0, fv_profile_on >= FV_PROFILE_LAYERS ? i : -1);
  if (!sl) return;
  sl->ms += dt;
  sl->flops += fv_op_flops(m, op, s, y); /* a backward pass to the input costs the forward's multiply-adds again */
  sl->calls++;
}

void fv_profile_add_stage(const char *name, int backward, double t0_ms) {
  const double dt = fv_profile_now_ms() - t0_ms;
  slot *sl = NULL;
  for (int i = 0; i < n_slots && !sl; i++)
    if (slots[i].kind == STAGE && slots[i].backward == (backward != 0) && strcmp(slots[i].name, name) == 0)
      sl = &slots[i];
  if (!sl) {
    if (n_slots == FV_PROFILE_SLOTS) return;
    sl = &slots[n_slots++];
    memset(sl, 0, sizeof *sl);
    sl->kind = STAGE;
    sl->backward = backward != 0;
    snprintf(sl->name, sizeof sl->name, "%s", name);
  }
  sl->ms += dt;
  sl->calls++;
}

/* ---- the exported API (fv.h) ---------------------------------------------------------- */

void fv_profile_enable(int on) { fv_profile_on = on <= 0 ? 0 : on >= FV_PROFILE_LAYERS ? FV_PROFILE_LAYERS : on; }
void fv_profile_reset(void) { n_slots = 0; }
int fv_profile_count(void) { return n_slots; }

static const slot *at(int i) { return i >= 0 && i < n_slots ? &slots[i] : NULL; }

const char *fv_profile_name(int i) { return at(i) ? at(i)->name : ""; }
int fv_profile_backward(int i) { return at(i) ? at(i)->backward : 0; }
int fv_profile_is_stage(int i) { return at(i) ? at(i)->kind == STAGE : 0; }
double fv_profile_ms(int i) { return at(i) ? at(i)->ms : 0.0; }
double fv_profile_calls(int i) { return at(i) ? (double)at(i)->calls : 0.0; }
double fv_profile_flops(int i) { return at(i) ? at(i)->flops : 0.0; }
