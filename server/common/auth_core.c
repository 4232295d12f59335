/*
 * auth_core.c - login cache, failure limits, ACL roles and revocation polling; see
 * auth_core.h.  The two maps (users, addresses) are chained hash tables keyed by string
 * (FNV-1a, core/fnv.h), grown by doubling; expired failure counters are swept on every poll.
 */
#include "auth_core.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/fnv.h"
#include "db.h"
#include "pwhash.h"
#include "srv_error.h"
#include "store.h"

/* A user's cache entry and failure counter (one node for both). */
struct unode {
  struct unode *next;
  uint64_t h;
  enum acl_role role;
  bool has_role, has_verifier;
  double role_until, verifier_until;
  unsigned char verifier[32];
  unsigned fails;
  double first_fail, last_fail;
  char key[];
};

struct map {
  struct unode **b;
  size_t nb, n;
};

struct auth {
  struct auth_config c;
  struct db *db;
  struct map users, addrs;
  unsigned char key[32];
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  long long rev;
  double last_poll;
  char **revoked;
  size_t nrevoked;
  struct auth_stats st;
};

static struct unode *map_find(struct map *m, const char *key, uint64_t h)
{
  if (!m->nb)
    return NULL;
  for (struct unode *n = m->b[h & (m->nb - 1)]; n; n = n->next)
    if (n->h == h && strcmp(n->key, key) == 0)
      return n;
  return NULL;
}

static int map_grow(struct map *m)
{
  size_t nb = m->nb ? m->nb * 2 : 256;
  struct unode **b = calloc(nb, sizeof(*b));
  if (!b)
    return -ENOMEM;
  for (size_t i = 0; i < m->nb; i++)
    for (struct unode *n = m->b[i], *next; n; n = next) {
      next = n->next;
      n->next = b[n->h & (nb - 1)];
      b[n->h & (nb - 1)] = n;
    }
  free(m->b);
  m->b = b;
  m->nb = nb;
  return 0;
}

/* The node for key, created (zeroed) if absent; NULL without memory. */
static struct unode *map_get(struct map *m, const char *key)
{
  uint64_t h = sim_fnv1a64(key);
  struct unode *n = map_find(m, key, h);
  if (n)
    return n;
  if (m->n + 1 > m->nb && map_grow(m) < 0)
    return NULL;
  size_t kl = strlen(key);
  n = calloc(1, sizeof(*n) + kl + 1);
  if (!n)
    return NULL;
  memcpy(n->key, key, kl + 1);
  n->h = h;
  n->next = m->b[h & (m->nb - 1)];
  m->b[h & (m->nb - 1)] = n;
  m->n++;
  return n;
}

/* Drops nodes that keep nothing worth keeping at now. */
static void map_sweep(struct map *m, double now, double window)
{
  for (size_t i = 0; i < m->nb; i++)
    for (struct unode **pp = &m->b[i]; *pp;) {
      struct unode *n = *pp;
      bool live = (n->has_role && n->role_until > now) ||
                  (n->has_verifier && n->verifier_until > now) ||
                  (n->fails && n->last_fail + window > now);
      if (live) {
        pp = &n->next;
        continue;
      }
      *pp = n->next;
      OPENSSL_cleanse(n->verifier, sizeof(n->verifier));
      free(n);
      m->n--;
    }
}

static void map_free(struct map *m)
{
  map_sweep(m, 1e300, 0);
  free(m->b);
  m->b = NULL;
  m->nb = 0;
}

double auth_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void auth_config_defaults(struct auth_config *c)
{
  memset(c, 0, sizeof(*c));
  c->iterations = PWHASH_DEFAULT_ITERATIONS;
  c->cache_ttl = AUTH_DEFAULT_CACHE_TTL;
  c->poll_interval = AUTH_DEFAULT_POLL;
  c->fail_user = AUTH_DEFAULT_FAIL_USER;
  c->fail_addr = AUTH_DEFAULT_FAIL_ADDR;
  c->fail_window = AUTH_DEFAULT_FAIL_WINDOW;
}

struct auth *auth_new(const struct auth_config *c, char *err, size_t errlen)
{
  struct auth *a = calloc(1, sizeof(*a));
  if (!a) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  a->c = *c;
  a->c.database = NULL;
  if (!c->database) {
    snprintf(err, errlen, "no database configured");
    goto fail;
  }
  if (db_open(c->database, &a->db, err, errlen) < 0)
    goto fail;
  int rc = store_migrate(a->db);
  if (rc == 0)
    rc = store_changes_head(a->db, &a->rev);
  if (rc < 0) {
    snprintf(err, errlen, "%s", db_errmsg(a->db)[0] ? db_errmsg(a->db) : srv_strerror(rc));
    goto fail;
  }
  a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  a->md = EVP_MD_CTX_new();
  if (!a->sha256 || !a->md || RAND_bytes(a->key, sizeof(a->key)) != 1) {
    snprintf(err, errlen, "OpenSSL: cannot set up SHA-256");
    goto fail;
  }
  a->last_poll = auth_now();
  return a;
fail:
  auth_free(a);
  return NULL;
}

static void drop(void *ctx, const char *user)
{
  (void)ctx;
  (void)user;
}

void auth_free(struct auth *a)
{
  if (!a)
    return;
  auth_take_revoked(a, drop, NULL);
  map_free(&a->users);
  map_free(&a->addrs);
  EVP_MD_CTX_free(a->md);
  EVP_MD_free(a->sha256);
  OPENSSL_cleanse(a->key, sizeof(a->key));
  db_close(a->db);
  free(a);
}

void auth_get_stats(const struct auth *a, struct auth_stats *s)
{
  *s = a->st;
}

static int verifier(struct auth *a, const char *pw, size_t len, unsigned char out[32])
{
  unsigned n = 0;
  if (EVP_DigestInit_ex2(a->md, a->sha256, NULL) != 1 ||
      EVP_DigestUpdate(a->md, a->key, sizeof(a->key)) != 1 ||
      EVP_DigestUpdate(a->md, pw, len) != 1 || EVP_DigestFinal_ex(a->md, out, &n) != 1 || n != 32)
    return SRV_ECRYPTO;
  return 0;
}

static bool limited(const struct unode *n, unsigned max, double now, double window)
{
  return n && max && n->fails >= max && n->last_fail + window > now;
}

static void count_failure(struct unode *n, double now, double window)
{
  if (!n)
    return;
  if (!n->fails || n->first_fail + window <= now) {
    /* a new window, unless the node is still locked out */
    if (!(n->fails && n->last_fail + window > now)) {
      n->fails = 0;
      n->first_fail = now;
    }
  }
  n->fails++;
  n->last_fail = now;
}

static void changed_user(void *ctx, const char *user)
{
  struct auth *a = ctx;
  struct unode *n = map_find(&a->users, user, sim_fnv1a64(user));
  if (n) {
    n->has_role = n->has_verifier = false;
    OPENSSL_cleanse(n->verifier, sizeof(n->verifier));
  }
  for (size_t i = 0; i < a->nrevoked; i++)
    if (strcmp(a->revoked[i], user) == 0)
      return;
  char **r = realloc(a->revoked, (a->nrevoked + 1) * sizeof(*r));
  if (!r)
    return;
  a->revoked = r;
  if ((r[a->nrevoked] = strdup(user)) != NULL)
    a->nrevoked++;
}

void auth_take_revoked(struct auth *a, void (*fn)(void *ctx, const char *user), void *ctx)
{
  for (size_t i = 0; i < a->nrevoked; i++) {
    fn(ctx, a->revoked[i]);
    free(a->revoked[i]);
  }
  free(a->revoked);
  a->revoked = NULL;
  a->nrevoked = 0;
}

int auth_poll(struct auth *a, double now)
{
  if (now - a->last_poll < a->c.poll_interval && now >= a->last_poll)
    return 0;
  a->last_poll = now;
  int rc = store_changes_since(a->db, &a->rev, changed_user, a);
  if (rc < 0)
    a->st.db_errors++;
  map_sweep(&a->users, now, a->c.fail_window);
  map_sweep(&a->addrs, now, a->c.fail_window);
  return rc;
}

static int refuse(struct auth *a, struct unode *u, struct unode *ad, double now, const char *why,
                  const char **reason)
{
  a->st.refused++;
  count_failure(u, now, a->c.fail_window);
  count_failure(ad, now, a->c.fail_window);
  *reason = why;
  return AUTH_REFUSED;
}

int auth_login(struct auth *a, const char *user, const char *password, const char *addr,
               double now, const char **reason, bool *cached)
{
  const char *dummy;
  if (!reason)
    reason = &dummy;
  if (cached)
    *cached = false;
  a->st.logins++;
  auth_poll(a, now);
  if (!user || !*user || strlen(user) > STORE_MAX_USER) {
    a->st.refused++;
    *reason = "no or too long user name";
    return AUTH_REFUSED;
  }
  if (!password) {
    a->st.refused++;
    *reason = "no password";
    return AUTH_REFUSED;
  }
  size_t pl = strlen(password);
  struct unode *ad = addr ? map_get(&a->addrs, addr) : NULL;
  if (limited(ad, a->c.fail_addr, now, a->c.fail_window)) {
    a->st.refused++;
    a->st.limited++;
    *reason = "too many failed logins from this address";
    return AUTH_REFUSED;
  }
  struct unode *u = map_get(&a->users, user);
  if (limited(u, a->c.fail_user, now, a->c.fail_window)) {
    a->st.refused++;
    a->st.limited++;
    *reason = "too many failed logins for this user";
    return AUTH_REFUSED;
  }
  unsigned char v[32];
  int vrc = verifier(a, password, pl, v);
  if (u && vrc == 0 && u->has_verifier && u->verifier_until > now &&
      CRYPTO_memcmp(v, u->verifier, sizeof(v)) == 0) {
    a->st.cache_hits++;
    u->fails = 0;
    if (cached)
      *cached = true;
    return AUTH_OK;
  }
  struct store_user su;
  int rc = store_user_get(a->db, user, &su);
  if (rc == -ENOENT)
    return refuse(a, u, ad, now, "unknown user", reason);
  if (rc < 0) {
    a->st.db_errors++;
    a->st.refused++;
    *reason = "database error";
    return rc;
  }
  rc = pwhash_verify(su.hash, password, pl);
  if (rc == SRV_EHASH)
    return refuse(a, u, ad, now, "stored password hash is malformed", reason);
  if (rc < 0) {
    a->st.refused++;
    *reason = "crypto error";
    return rc;
  }
  if (rc == 0)
    return refuse(a, u, ad, now, "wrong password", reason);
  if (pwhash_needs_rehash(su.hash, a->c.iterations)) {
    char nh[PWHASH_MAX];
    if (pwhash_make(password, pl, a->c.iterations, nh) == 0 &&
        store_user_rehash(a->db, user, su.hash, nh) == 0)
      a->st.rehashed++;
    else
      a->st.db_errors++;
  }
  if (u) {
    u->fails = 0;
    u->role = acl_role_parse(su.role);
    u->has_role = true;
    u->role_until = now + a->c.cache_ttl;
    if (vrc == 0) {
      memcpy(u->verifier, v, sizeof(v));
      u->has_verifier = true;
      u->verifier_until = now + a->c.cache_ttl;
    }
  }
  OPENSSL_cleanse(v, sizeof(v));
  return AUTH_OK;
}

bool auth_acl(struct auth *a, const char *user, const char *topic, int access, double now,
              const char **reason)
{
  const char *dummy;
  if (!reason)
    reason = &dummy;
  auth_poll(a, now);
  if (!user) {
    *reason = "anonymous client";
    return false;
  }
  uint64_t h = sim_fnv1a64(user);
  struct unode *u = map_find(&a->users, user, h);
  enum acl_role role;
  if (u && u->has_role && u->role_until > now) {
    role = u->role;
  } else {
    struct store_user su;
    int rc = store_user_get(a->db, user, &su);
    if (rc == -ENOENT) {
      *reason = "user no longer exists";
      return false;
    }
    if (rc < 0) {
      a->st.db_errors++;
      *reason = "database error";
      return false;
    }
    role = acl_role_parse(su.role);
    u = map_get(&a->users, user);
    if (u) {
      u->role = role;
      u->has_role = true;
      u->role_until = now + a->c.cache_ttl;
    }
  }
  return acl_allows(user, role, topic, access, reason);
}
