/*
 * test_notify.c - the notification queue: per-type ids, readers, read marks, the durable
 * journal of a state directory (pending entries and ids survive a restart, a torn last record
 * is dropped, a damaged one inside is an error with its offset; test_notify_journal.c has
 * every kind of damage), mp_encode, the checks of subtype and text on raise.
 */
#include "testutil.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "core/utf8.h"
#include "model/metrics.h"
#include "notify/journal.h"
#include "notify/queue.h"
#include "model/sim.h"
#include "simenv.h"


static char dir[] = "/tmp/ovms-sim-notify-XXXXXX";

static void test_queue(void **state)
{
  struct test_sim e;
  test_sim_new(&e);
  assert_int_equal(sim_notify_open(e.sim, NULL, NULL), 0);
  assert_int_equal(sim_notify_open(e.sim, NULL, NULL), SIM_EEXIST);
  int r = sim_notify_reader(e.sim, "ovmsv3");
  assert_int_equal(r, 0);
  assert_int_equal(sim_notify_reader(e.sim, "ovmsv3"), 0);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "a.b", "x"), 1);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "a.c", "y"), 2);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_ALERT, "a.b", "z"), 1); /* per type */
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "bad subtype", "z"), SIM_EPARSE);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "a/b", "z"), SIM_EPARSE);
  assert_int_equal(sim_notify_pending(e.sim, r), 3);
  const struct sim_notify_entry *x = sim_notify_peek(e.sim, r, NOTIFY_INFO);
  assert_int_equal(x->id, 1);
  assert_string_equal(x->text, "x");
  assert_int_equal(x->created_ns, INT64_C(1717228800) * SIM_NS_PER_SEC);
  assert_int_equal(sim_notify_mark_read(e.sim, r, NOTIFY_INFO, 1), 0);
  assert_int_equal(sim_notify_mark_read(e.sim, r, NOTIFY_INFO, 1), SIM_ENOTFOUND);
  assert_int_equal(sim_notify_peek(e.sim, r, NOTIFY_INFO)->id, 2);
  test_sim_free(&e);
}

static void test_durable(void **state)
{
  assert_non_null(mkdtemp(dir));
  struct test_sim e;
  test_sim_new(&e);
  assert_int_equal(sim_notify_open(e.sim, dir, NULL), 0);
  int r = sim_notify_reader(e.sim, "ovmsv3");
  sim_notify_raise(e.sim, NOTIFY_DATA, "log.trip", "*-LOG-Trip,1,2\nline two, with comma");
  sim_notify_raise(e.sim, NOTIFY_DATA, "log.trip", "");
  sim_notify_raise(e.sim, NOTIFY_INFO, "x.y", "info");
  sim_notify_mark_read(e.sim, r, NOTIFY_INFO, 1);
  test_sim_free(&e); /* as good as a kill: everything was flushed when raised */

  test_sim_new(&e);
  assert_int_equal(sim_notify_open(e.sim, dir, NULL), 0);
  r = sim_notify_reader(e.sim, "ovmsv3");
  assert_int_equal(sim_notify_pending(e.sim, r), 2);
  const struct sim_notify_entry *x = sim_notify_peek(e.sim, r, NOTIFY_DATA);
  assert_int_equal(x->id, 1);
  assert_string_equal(x->text, "*-LOG-Trip,1,2\nline two, with comma");
  assert_string_equal(x->subtype, "log.trip");
  assert_int_equal(sim_notify_mark_read(e.sim, r, NOTIFY_DATA, 1), 0);
  /* ids continue after the highest one used, also for types with nothing pending */
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_DATA, "log.trip", "3"), 3);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "x.y", "2"), 2);
  /* another reader name registered later does not get the old entries */
  int r2 = sim_notify_reader(e.sim, "other");
  assert_int_equal(sim_notify_pending(e.sim, r2), 0);
  test_sim_free(&e);

  /* a torn last record (killed while writing) is dropped */
  char p[256];
  snprintf(p, sizeof(p), "%s/notify.journal", dir);
  FILE *f = fopen(p, "a");
  fputs("0000001b 00000000 N info 9 0 ovmsv3 x.y 41", f);
  fclose(f);
  test_sim_new(&e);
  assert_int_equal(sim_notify_open(e.sim, dir, NULL), 0);
  r = sim_notify_reader(e.sim, "ovmsv3");
  assert_int_equal(sim_notify_pending(e.sim, r), 3); /* data 2, data 3, info 2 */
  test_sim_free(&e);

  /* a damaged record before a valid one: an error naming the file and the offset */
  f = fopen(p, "a");
  struct sbuf rec = SBUF_INIT;
  notify_journal_frame("I info 7", 8, &rec);
  fputs("N info x 0 ovmsv3 x.y 41\n", f);
  fputs(sbuf_str(&rec), f);
  sbuf_free(&rec);
  fclose(f);
  test_sim_new(&e);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(sim_notify_open(e.sim, dir, &d), SIM_EPARSE);
  struct sbuf err = SBUF_INIT;
  for (size_t k = 0; k < d.n; k++)
    if (d.v[k].level == SIM_DIAG_ERROR)
      sim_diag_format(&d.v[k], &err);
  assert_non_null(strstr(sbuf_str(&err), "notify.journal: error: offset "));
  assert_non_null(strstr(sbuf_str(&err), "the journal is damaged inside; nothing was changed."));
  assert_null(strstr(sbuf_str(&err), "--state-repair")); /* the program names its option */
  sbuf_free(&err);
  sim_diag_cleanup(&d);
  test_sim_free(&e);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}


static void test_helpers(void **state)
{
  struct sbuf b = SBUF_INIT;
  sim_notify_mp_encode("a,b\nc", &b);
  assert_string_equal(sbuf_str(&b), "a;b\rc");
  sbuf_free(&b);
  enum sim_notify_type t;
  assert_int_equal(sim_notify_type_parse("data", &t), 0);
  assert_int_equal(t, NOTIFY_DATA);
  assert_int_equal(sim_notify_type_parse("warn", &t), SIM_ENOTFOUND);
  assert_string_equal(sim_notify_type_name(NOTIFY_ALERT), "alert");
  /* the journal's subtypes and the fleet's ids: one MQTT topic level each */
  assert_true(sim_topic_word("charge.stopped"));
  assert_true(sim_topic_word("SIM0001"));
  static const char *const not_words[] = {"", "a b", "a/b", "a+", "#", "a\tb", "\x1f"};
  for (size_t i = 0; i < ARRAY_SIZE(not_words); i++)
    assert_false(sim_topic_word(not_words[i]));
}

/* What a broker could never take is refused on raise, with the reason; the queue stays
 * empty for it. */
static void test_check(void **state)
{
  struct test_sim e;
  test_sim_new(&e);
  int r = sim_notify_reader(e.sim, "t");
  struct sbuf why = SBUF_INIT;
  assert_int_equal(sim_notify_check("charge.started", "ok \xc3\xa9 \xf0\x9f\x9a\x97", &why), 0);
  assert_int_equal(why.len, 0);
  static const struct {
    const char *sub, *text;
    int rc;
    const char *why;
  } bad[] = {
    {"", "x", SIM_EPARSE, "the subtype is empty"},
    {"a.\xff", "x", SIM_EPARSE, "the subtype is not valid UTF-8 (byte 3)"},
    {"a.\xc0\xaf", "x", SIM_EPARSE, "the subtype is not valid UTF-8 (byte 3)"}, /* overlong */
    {"a.\xed\xa0\x80", "x", SIM_EPARSE, "the subtype is not valid UTF-8 (byte 3)"}, /* surrogate */
    {"a.\xf4\x90\x80\x80", "x", SIM_EPARSE, "not valid UTF-8 (byte 3)"}, /* > U+10FFFF */
    {"a.\xe2\x82", "x", SIM_EPARSE, "not valid UTF-8 (byte 3)"}, /* cut */
    {"a+b", "x", SIM_EPARSE, "the character '+' (byte 2)"},
    {"a/b", "x", SIM_EPARSE, "the character '/' (byte 2)"},
    {"a#", "x", SIM_EPARSE, "the character '#' (byte 2)"},
    {"a b", "x", SIM_EPARSE, "a space or control character (byte 2)"},
    {"a\x7f", "x", SIM_EPARSE, "a space or control character (byte 2)"},
    {"usr.x", "\xfe", SIM_EPARSE, "the text is not valid UTF-8 (byte 1)"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    sbuf_reset(&why);
    assert_int_equal(sim_notify_check(bad[i].sub, bad[i].text, &why), bad[i].rc);
    assert_non_null(strstr(sbuf_str(&why), bad[i].why));
    assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, bad[i].sub, bad[i].text), bad[i].rc);
  }
  char sub[SIM_NOTIFY_SUBTYPE_MAX + 2];
  memset(sub, 'a', sizeof(sub) - 1);
  sub[sizeof(sub) - 1] = 0;
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_ALERT, sub, "x"), SIM_ELIMIT);
  sub[SIM_NOTIFY_SUBTYPE_MAX] = 0;
  assert_true(sim_notify_raise(e.sim, NOTIFY_ALERT, sub, "x") > 0);
  char *text = malloc(SIM_NOTIFY_TEXT_MAX + 2);
  memset(text, 't', SIM_NOTIFY_TEXT_MAX + 1);
  text[SIM_NOTIFY_TEXT_MAX + 1] = 0;
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_DATA, "log", text), SIM_ELIMIT);
  text[SIM_NOTIFY_TEXT_MAX] = 0;
  assert_true(sim_notify_raise(e.sim, NOTIFY_DATA, "log", text) > 0);
  free(text);
  assert_int_equal(sim_notify_pending(e.sim, r), 2);
  assert_int_equal(sim_notify_pending_type(e.sim, r, NOTIFY_INFO), 0);
  sbuf_free(&why);
  test_sim_free(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_queue),
    cmocka_unit_test(test_durable),
    cmocka_unit_test(test_helpers),
    cmocka_unit_test(test_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
