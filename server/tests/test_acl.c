/*
 * test_acl.c - the ACL rules (table: user, role, topic, access -> allowed) and the parser of
 * notification topics (table: topic -> user, vehicle, type, subtype, msgid, age, well-formed).
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "acl.h"
#include "core/array.h"
#include "srv_error.h"

#define R ACL_READ
#define W ACL_WRITE
#define S ACL_SUBSCRIBE
#define U ACL_UNSUBSCRIBE
#define USER ACL_ROLE_USER
#define NOTI ACL_ROLE_NOTIFIER

static const struct {
  const char *user;
  enum acl_role role;
  const char *topic;
  int access;
  bool allowed;
} cases[] = {
    {"alice", USER, "ovms/alice/CAR/metric/v/b/soc", R, true},
    {"alice", USER, "ovms/alice/CAR/metric/v/b/soc", W, true},
    {"alice", USER, "ovms/alice/#", S, true},
    {"alice", USER, "ovms/alice/+/notify/#", S, true},
    {"alice", USER, "ovms/alice/", R, false},
    {"alice", USER, "ovms/alice", S, false},
    {"alice", USER, "ovms/alicex/CAR/metric", R, false},
    {"alice", USER, "ovms/bob/CAR/metric/v/b/soc", R, false},
    {"alice", USER, "ovms/bob/CAR/client/a/command/1", W, false},
    {"alice", USER, "ovms/+/CAR/metric/#", S, false},
    {"alice", USER, "ovms/#", S, false},
    {"alice", USER, "#", S, false},
    {"alice", USER, "$SYS/#", S, false},
    {"alice", USER, "anything", U, true},
    {"al/ice", USER, "ovms/al/ice/x", R, false},
    {"al+", USER, "ovms/al+/x", R, false},
    {"", USER, "ovms//x", R, false},
    {"notifier", NOTI, "ovms/+/+/notify/#", S, true},
    {"notifier", NOTI, "ovms/alice/+/notify/#", S, true},
    {"notifier", NOTI, "ovms/+/+/notify/data/#", S, true},
    {"notifier", NOTI, "ovms/+/+/#", S, false},
    {"notifier", NOTI, "ovms/#", S, false},
    {"notifier", NOTI, "ovms/+/+/metric/#", S, false},
    {"notifier", NOTI, "ovms/alice/CAR/notify/info/charge/stopped", R, true},
    {"notifier", NOTI, "ovms/alice/CAR/notify/data/log/1/-3", R, true},
    {"notifier", NOTI, "ovms/alice/CAR/metric/v/b/soc", R, false},
    {"notifier", NOTI, "ovms/alice/CAR/notify/info/x", W, false},
    {"notifier", NOTI, "ovms/notifier/CAR/metric", W, false},
    {"notifier", NOTI, "ovms/notifier/CAR/metric", R, false},
};

static void test_rules(void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    const char *why = NULL;
    bool ok = acl_allows(cases[i].user, cases[i].role, cases[i].topic, cases[i].access, &why);
    if (ok != cases[i].allowed)
      fail_msg("case %zu: %s %s %d -> %d", i, cases[i].user, cases[i].topic, cases[i].access, ok);
    if (!ok)
      assert_non_null(why);
  }
  assert_int_equal(acl_role_parse("notifier"), ACL_ROLE_NOTIFIER);
  assert_int_equal(acl_role_parse("user"), ACL_ROLE_USER);
  assert_int_equal(acl_role_parse("admin"), ACL_ROLE_USER);
}

static const struct {
  const char *topic;
  int rc;
  const char *user, *vehicle, *type, *subtype;
  bool has_msgid;
  long long msgid, age;
} topics[] = {
    {"ovms/alice/CAR/notify/info/charge/stopped", 0, "alice", "CAR", "info", "charge.stopped",
     false, 0, 0},
    {"ovms/alice/CAR/notify/alert/x", 0, "alice", "CAR", "alert", "x", false, 0, 0},
    {"ovms/alice/CAR/notify/data/log/grid/12/-30", 0, "alice", "CAR", "data", "log.grid", true,
     12, 30},
    {"ovms/alice/CAR/notify/data/log/5/0", 0, "alice", "CAR", "data", "log", true, 5, 0},
    {"ovms/alice/CAR/notify/data/log/5/30", SRV_EPROTO, "alice", "CAR", "data", "log.5.30", false,
     0, 0},
    {"ovms/alice/CAR/notify/data/log/x/-1", SRV_EPROTO, "alice", "CAR", "data", "log.x.-1", false,
     0, 0},
    {"ovms/alice/CAR/notify/data/5/-1", SRV_EPROTO, "alice", "CAR", "data", "5.-1", false, 0, 0},
    {"ovms/alice/CAR/notify", SRV_EPROTO, "alice", "CAR", "", "", false, 0, 0},
    {"ovms/alice/CAR/notify/info", SRV_EPROTO, "alice", "CAR", "info", "", false, 0, 0},
    {"ovms/alice/CAR/metric/x/y", SRV_EPROTO, "alice", "CAR", "x", "y", false, 0, 0},
    {"x", SRV_EPROTO, "", "", "", "", false, 0, 0},
    {"ovms/alice/CAR/notify/info//", SRV_EPROTO, "alice", "CAR", "info", ".", false, 0, 0},
};

static void test_topics(void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE(topics); i++) {
    char buf[256];
    struct notify_topic t;
    int rc = notify_topic_parse(topics[i].topic, buf, sizeof(buf), &t);
    if (rc != topics[i].rc || strcmp(t.user, topics[i].user) || strcmp(t.vehicle, topics[i].vehicle) ||
        strcmp(t.type, topics[i].type) || strcmp(t.subtype, topics[i].subtype) ||
        t.has_msgid != topics[i].has_msgid || t.msgid != topics[i].msgid ||
        t.age_s != topics[i].age)
      fail_msg("topic %s: rc %d user '%s' vehicle '%s' type '%s' subtype '%s' msgid %d/%lld age "
               "%lld",
               topics[i].topic, rc, t.user, t.vehicle, t.type, t.subtype, t.has_msgid, t.msgid,
               t.age_s);
  }
  char small[4];
  struct notify_topic t;
  assert_int_equal(notify_topic_parse("ovms/a/b/notify/info/x", small, sizeof(small), &t),
                   -EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_rules), cmocka_unit_test(test_topics)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
