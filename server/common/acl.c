/*
 * acl.c - acl_allows() and notify_topic_parse(); see acl.h.
 */
#include "acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srv_error.h"
#include "store.h"

enum acl_role acl_role_parse(const char *role)
{
  return role && strcmp(role, STORE_ROLE_NOTIFIER) == 0 ? ACL_ROLE_NOTIFIER : ACL_ROLE_USER;
}

/* Length of level i of t (levels split at '/'), its start in *start; -1 if absent. */
static long level(const char *t, int i, const char **start)
{
  const char *p = t;
  for (int k = 0; k < i; k++) {
    p = strchr(p, '/');
    if (!p)
      return -1;
    p++;
  }
  const char *e = strchr(p, '/');
  *start = p;
  return e ? (long)(e - p) : (long)strlen(p);
}

static bool level_is(const char *t, int i, const char *want)
{
  const char *s;
  long n = level(t, i, &s);
  return n >= 0 && (size_t)n == strlen(want) && memcmp(s, want, (size_t)n) == 0;
}

/* Topic (or filter) t lies under ovms/<user>/: the prefix is literal and something follows. */
static bool in_user_tree(const char *user, const char *t)
{
  size_t ul = strlen(user);
  return strncmp(t, "ovms/", 5) == 0 && strncmp(t + 5, user, ul) == 0 && t[5 + ul] == '/' &&
         t[6 + ul] != '\0';
}

/* Filter or topic t lies inside ovms/+/+/notify/#. */
static bool in_notify_tree(const char *t, bool filter)
{
  const char *s;
  if (!level_is(t, 0, "ovms") || !level_is(t, 3, "notify"))
    return false;
  for (int i = 1; i <= 2; i++) {
    long n = level(t, i, &s);
    if (n <= 0 || (n == 1 && s[0] == '#'))
      return false;
    if (!filter && memchr(s, '+', (size_t)n))
      return false;
  }
  return true;
}

bool acl_allows(const char *user, enum acl_role role, const char *topic, int access,
                const char **reason)
{
  const char *why = NULL;
  if (access == ACL_UNSUBSCRIBE)
    return true;
  if (!user || !*user || strpbrk(user, "/+#"))
    why = "user name cannot own a topic tree";
  else if (!topic || !*topic)
    why = "empty topic";
  else if (role == ACL_ROLE_NOTIFIER) {
    if (access & ACL_WRITE)
      why = "notifier role may not publish";
    else if (!in_notify_tree(topic, access & ACL_SUBSCRIBE))
      why = "notifier role reads ovms/+/+/notify/# only";
  } else if (!in_user_tree(user, topic)) {
    why = "outside the user's tree ovms/<user>/";
  }
  if (why && reason)
    *reason = why;
  return why == NULL;
}

int notify_topic_parse(const char *topic, char *buf, size_t cap, struct notify_topic *out)
{
  memset(out, 0, sizeof(*out));
  out->user = out->vehicle = out->type = out->subtype = "";
  size_t tl = strlen(topic);
  if (tl + 1 > cap)
    return -EINVAL;
  memcpy(buf, topic, tl + 1);
  char *lv[64];
  int n = 0;
  for (char *p = buf; n < 64;) {
    lv[n++] = p;
    p = strchr(p, '/');
    if (!p)
      break;
    *p++ = '\0';
  }
  bool ok = n >= 6 && strcmp(lv[0], "ovms") == 0 && strcmp(lv[3], "notify") == 0 && *lv[1] &&
            *lv[2] && *lv[4];
  if (n >= 2)
    out->user = lv[1];
  if (n >= 3)
    out->vehicle = lv[2];
  if (n >= 5)
    out->type = lv[4];
  int last = n; /* subtype levels are [5, last) */
  if (n >= 5 && strcmp(lv[4], "data") == 0) {
    char *e1 = NULL, *e2 = NULL;
    long long id = 0, age = 0;
    bool got = false;
    if (n >= 8 && *lv[n - 2] && *lv[n - 1]) {
      errno = 0;
      id = strtoll(lv[n - 2], &e1, 10);
      bool idok = !*e1 && errno == 0 && id >= 0 && lv[n - 2][0] != '-' && lv[n - 2][0] != '+';
      age = strtoll(lv[n - 1], &e2, 10);
      bool ageok = !*e2 && errno == 0 && age <= 0 && age > -100LL * 365 * 86400 &&
                   lv[n - 1][0] != '+';
      got = idok && ageok;
    }
    if (got) {
      out->has_msgid = true;
      out->msgid = id;
      out->age_s = -age;
      last = n - 2;
    } else {
      ok = false;
    }
  }
  for (int i = 5; i < last; i++)
    if (!*lv[i])
      ok = false;
  /* join the subtype levels with '.' in place: they are contiguous in buf */
  if (last > 5) {
    for (int i = 5; i < last - 1; i++)
      lv[i][strlen(lv[i])] = '.';
    out->subtype = lv[5];
  }
  if (n >= 6 && !*out->subtype)
    ok = false;
  return ok ? 0 : SRV_EPROTO;
}
