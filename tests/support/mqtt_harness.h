/*
 * mqtt_harness.h - integration-test helpers: a real mosquitto broker started on a free
 * loopback port with a generated configuration, a recording MQTT subscriber (libmosquitto,
 * its own network thread) that keeps topic, payload, QoS and retain flag of every message,
 * and child processes (the ovms-sim program, or a function run in a forked child).
 *
 * Every child process dies with the test process (PR_SET_PDEATHSIG), so a failed assertion
 * leaves no broker or simulator running.  Waits are bounded by generous wall-clock limits that only turn a hang into a failure;
 * no test asserts on how long something took.
 */
#ifndef SIM_MQTT_HARNESS_H
#define SIM_MQTT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mosquitto;

/* A free TCP port on 127.0.0.1 (bind port 0, read it back). */
int harness_free_port(void);

/* A temporary directory (mkdtemp); returns a malloc'd path. */
char *harness_tmpdir(void);
/* Removes the tree dir (rm -rf) and frees dir.  Returns 0, or -1 after a warning on stderr
 * when it could not be removed. */
int harness_rmtree(char *dir);

/* Writes text to dir/name; returns the malloc'd path. */
char *harness_write(const char *dir, const char *name, const char *text);

struct broker {
  pid_t pid;
  int port;
  char *dir;
  char *conf;
  char *log;
};

/*
 * Starts mosquitto (MOSQUITTO_BIN) on 127.0.0.1:port (0 = pick one) with logging of
 * everything to dir/broker.log, persistence in dir, and `extra` appended to the
 * configuration (listeners, auth, TLS).  Returns 0 once the port accepts connections, or
 * -1 (test skipped by the caller with 77 if MOSQUITTO_BIN is missing).
 */
int broker_start(struct broker *b, const char *dir, int port, const char *extra);
/* Starts mosquitto with the configuration file conf (used as is; it must listen on
 * 127.0.0.1:port and log to dir/broker.log to make broker_log() useful).  Returns as
 * broker_start(). */
/* The usual cmocka group setup: a fresh temporary directory in *dir and a broker b started in
 * it on a free port; exits with TEST_SKIP_EXIT (the test is skipped) when mosquitto does not
 * start.  harness_broker_teardown() undoes it. */
void harness_broker_setup(struct broker *b, char **dir);
/* Frees b and removes dir (harness_rmtree). */
void harness_broker_teardown(struct broker *b, char *dir);
/* "mqtt://user@127.0.0.1:<b's port>", in one of four static buffers used in turn (so up to
 * four URLs may be in use at once). */
char *broker_url(const struct broker *b, const char *user);
int broker_start_file(struct broker *b, const char *dir, const char *conf, int port);
/* The same configuration again (after broker_stop), on the same port. */
int broker_restart(struct broker *b);
/* SIGTERM and wait. */
void broker_stop(struct broker *b);
void broker_free(struct broker *b);
/* The broker log so far (malloc'd). */
char *broker_log(const struct broker *b);
/* Number of occurrences of needle in the broker log. */
size_t broker_log_count(const struct broker *b, const char *needle);

struct rmsg {
  char *topic;
  char *payload;
  int len;
  int qos;
  bool retain;
};

struct sub;

/*
 * Connects a subscriber (client id, clean session flag, optional user/password) to
 * 127.0.0.1:port, subscribes to filter at qos on every (re)connect, and records every message.
 * Returns NULL on failure.
 */
struct sub *sub_new(int port, const char *id, bool clean, const char *user, const char *pass,
                    const char *filter, int qos);
void sub_free(struct sub *s);
/* Waits until the subscription was acknowledged (SUBACK).  Returns 0 or -1 on timeout. */
int sub_ready(struct sub *s, double timeout);
/* Number of recorded messages. */
size_t sub_count(struct sub *s);
/* A copy of message i (strings owned by the subscriber; valid until sub_free). */
struct rmsg sub_get(struct sub *s, size_t i);
/* Waits for a message on topic (and with payload, unless NULL) at index >= from; returns
 * its index or -1 after timeout seconds. */
long sub_wait(struct sub *s, size_t from, const char *topic, const char *payload,
              double timeout);
/* Number of messages on topic (payload NULL = any) at index >= from. */
size_t sub_count_topic(struct sub *s, size_t from, const char *topic, const char *payload);
/* Publishes from the subscriber's connection.  Returns 0 or -1. */
int sub_publish(struct sub *s, const char *topic, const char *payload, int qos, bool retain);

/* Runs OVMS_SIM_BIN with argv[1..] (argv[0] ignored), stdout and stderr to files in dir
 * (sim.out / sim.err), environment plus env (NULL or "NAME=value" list).  Returns the pid. */
pid_t sim_spawn(const char *dir, char *const argv[], char *const env[]);
/* Waits for pid; returns the exit status, or 128+signal; -1 after timeout seconds (the
 * process is then killed). */
int proc_wait(pid_t pid, double timeout);
/* SIGKILL and reap. */
void proc_kill(pid_t pid);
/* Runs fn(arg) in a forked child that exits with its return value.  Returns the pid. */
pid_t proc_fork(int (*fn)(void *arg), void *arg);

/* Sleeps ms milliseconds of wall time. */
void harness_sleep_ms(int ms);

#endif
