/*
 * trace.h - CAN trace files: the record type, the table of formats, the streaming reader and
 * writer, and conversion between formats.
 *
 * A trace format is a pure codec (sim/trace/fmt_<name>.c): it turns one line of text into one
 * struct trace_record (a frame, an event, a metric value, a comment, or nothing) and a record
 * back into one line.  It never does I/O.  The reader (reader.c) feeds it lines from a file
 * read through a fixed buffer (no whole-file load; .gz through zlib when built with
 * SIM_HAVE_ZLIB), the writer (writer.c) collects its lines into a buffer, trace_convert() ties
 * both together, and the replay (replay.h) and the recorder (record.h) reuse them.
 *
 * Typical use (vehicle tests, tools):
 *
 *     struct trace_reader *r;
 *     struct sim_diag d = SIM_DIAG_INIT;
 *     if (trace_reader_open(&r, "drive.crtd", NULL, &d) < 0) ...   // d says why
 *     struct trace_record rec;
 *     int rc;
 *     while ((rc = trace_reader_next(r, &rec, &d)) != 0) {
 *       if (rc < 0) continue;                 // a bad line: recorded in d, skip it (or stop)
 *       if (rec.kind == TRACE_REC_FRAME) decode(&rec.frame);
 *     }
 *     trace_reader_close(r);
 *
 * Supported formats (name: what):
 *   candump         can-utils `candump -l` log: (1724333002.811100) can0 7E8#03410D3C
 *   candump-screen  candump default output, optionally with (timestamp): "  can0  1DB   [8]  00 04"
 *   crtd            OVMS CRTD (firmware canformat_crtd.cpp) incl. CXX/CVR/CEV/CMT/CER/CST records
 *   asc             Vector ASC (base hex/dec, absolute/relative timestamps, CANFD lines)
 *   trc             PEAK PCAN-View TRC, file versions 1.0 to 2.1
 *   savvycan        SavvyCAN / GVRET CSV
 *   parserflags     tab-separated analyser export with a "ParserFlags" header
 *   numbered        numbered text export ("1 Receive 0.000 0x123 Data frame Standard frame 8 ..")
 */
#ifndef SIM_TRACE_TRACE_H
#define SIM_TRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "core/diag.h"
#include "core/sbuf.h"

/* What one parsed line is. */
enum trace_rec_kind {
  TRACE_REC_NONE = 0, /* nothing (blank line, header, status line, record of no interest) */
  TRACE_REC_FRAME,    /* a CAN frame: frame */
  TRACE_REC_EVENT,    /* an OVMS event (CRTD CEV): name (+ text = event data, may be empty) */
  TRACE_REC_METRIC,   /* a metric value (CRTD CMT): name, text = JSON value, unit = label */
  TRACE_REC_COMMENT,  /* a comment / info line (CRTD CXX, '#' lines, ASC '//'): text */
  TRACE_REC_STATUS,   /* a bus status / error / statistics line (CRTD CER, CST): name, text */
};

/* Largest interface / channel label kept in a record ("can0", "vcan12", "2"). */
#define TRACE_SRC_MAX 24

/*
 * One record.  The string members point into the line that was parsed (or, for the writer,
 * into whatever the caller built): they are NOT NUL-terminated and are valid only until the
 * next call on the same reader.  Copy what you keep.
 */
struct trace_record {
  enum trace_rec_kind kind;
  struct sim_frame frame;    /* FRAME: the frame (frame.ts = ts, frame.bus as below) */
  int64_t ts;                /* ns: absolute epoch time, or relative to the trace start when
                                the format has no absolute time (ts_relative) */
  bool ts_relative;          /* ts counts from the trace start, not from 1970 */
  bool untimed;              /* the format has no time at all (candump screen without -t):
                                ts was synthesised from the reader's frame period */
  char src[TRACE_SRC_MAX];   /* the trace's own bus label: "can0", "1" (CRTD bus), "2" (ASC
                                channel), "" when the format has none.  Used by bus maps. */
  const char *name;          /* EVENT / METRIC / STATUS: name (event, metric, CER/CST kind) */
  size_t name_len;
  const char *text;          /* METRIC: JSON value; COMMENT/STATUS/EVENT: free text */
  size_t text_len;
  const char *unit;          /* METRIC: unit label ("%", "km"), may be empty */
  size_t unit_len;
};

/*
 * Parser state of one input: per-file facts that a line-oriented format learns from earlier
 * lines (ASC base and time mode, TRC version and start time, CSV column layout, bus labels
 * seen so far).  Zero-initialise it (trace_pstate_init) before the first line.  Members are
 * used by the codecs; callers only set the public inputs at the top.
 */
#define TRACE_MAX_COLS 24
#define TRACE_MAX_SRCS 8
struct trace_pstate {
  /* inputs */
  const char *file;        /* for diagnostics; may be NULL */
  int64_t untimed_period;  /* ns between frames of untimed formats (default 10 ms) */
  /* maintained by the reader */
  int line;                /* 1-based number of the line being parsed */
  /* codec state */
  int base;                /* ASC: 16 or 10 */
  bool relative;           /* ASC: relative timestamps */
  bool have_header;        /* CSV/TSV/TRC/ASC: header seen */
  bool trailer;            /* CANdo CSV: past the rows, in the key section after a ~~~ line */
  int version;             /* TRC: file version * 10 (11, 20, 21...) */
  int64_t start_ns;        /* TRC $STARTTIME, ASC date (0 when unknown) */
  int64_t last_ts;         /* ASC relative mode: running time; untimed: last synthetic ts */
  int ncols;               /* CSV/TSV/TRC 2.x: columns of the header */
  int8_t col[TRACE_MAX_COLS]; /* meaning of each column (codec-specific codes) */
  char sep;                /* CSV/TSV: separator */
  unsigned long nframes;   /* frames returned so far */
  int nsrcs;               /* interface labels (candump): bus = index + 1; slots up to nsrcs
                              used, a free one has srcs_len 0 */
  char srcs[TRACE_MAX_SRCS][TRACE_SRC_MAX];
  uint8_t srcs_len[TRACE_MAX_SRCS];
  uint64_t srcs_key[TRACE_MAX_SRCS]; /* the first 8 bytes of each label, zero-padded */
  char tcache[20];         /* the seconds digits of the last timestamp parsed ... */
  uint8_t tcache_len;
  int64_t tcache_sec;      /* ... and their value (consecutive lines share them) */
  uint64_t qsec_key[2];    /* candump fast path: the seconds' text as two 8-byte words (0: */
  int64_t qsec_ns;         /* none yet) and their value in ns */
};

void trace_pstate_init(struct trace_pstate *ps, const char *file);

/*
 * Writer state: the format's per-file output state (first timestamp for relative formats,
 * record counter).  Zero-initialise with trace_wstate_init.
 */
struct trace_wstate {
  int64_t t0;          /* first timestamp written (relative formats); valid if have_t0 */
  bool have_t0;
  unsigned long n;     /* records written so far */
  unsigned long dropped; /* records the format cannot carry (events in candump...) */
  bool sec_valid;      /* the text of the last whole second written (candump), reused */
  uint8_t sec_len;
  uint64_t sec;
  char sec_txt[24];
};

void trace_wstate_init(struct trace_wstate *ws);

/* Capabilities of a format (what it can carry when written). */
enum {
  TRACE_CAP_READ = 0x001,
  TRACE_CAP_WRITE = 0x002,
  TRACE_CAP_FD = 0x004,      /* CAN FD frames */
  TRACE_CAP_TX = 0x008,      /* direction */
  TRACE_CAP_ERR = 0x010,     /* error frames */
  TRACE_CAP_EVENTS = 0x020,  /* events, metrics, comments (CRTD) */
  TRACE_CAP_ABSTIME = 0x040, /* absolute (epoch) timestamps */
  TRACE_CAP_RTR = 0x080,
  TRACE_CAP_FDFLAGS = 0x100, /* CAN FD BRS / ESI bits */
  /* read and written with every kind of frame, all its flags and absolute times: a trace
   * copied through the format loses nothing of its frames (candump, candump-screen, asc) */
  TRACE_CAP_LOSSLESS = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_FD | TRACE_CAP_FDFLAGS |
                       TRACE_CAP_TX | TRACE_CAP_ERR | TRACE_CAP_ABSTIME | TRACE_CAP_RTR,
};

/*
 * A trace format: a const table entry.  All functions are pure (no I/O, no globals).
 *
 * detect(line, len): how strongly this one line looks like the format: 0 = not at all,
 *   1 = could be a data line, 3 = a header/signature line only this format has.
 * parse(ps, line, len, rec, d): parses one line (without its line end; a trailing '\r' is
 *   allowed).  Returns 1 when rec holds a record (FRAME, EVENT...), 0 when the line carries
 *   nothing (blank, header; rec->kind = TRACE_REC_NONE), SIM_EPARSE when the line is bad: an
 *   error with ps->file:ps->line:column was added to d.
 * write(ws, rec, out): appends rec as one line including its line end to out.  Returns 0, or
 *   SIM_EUNSUP when the format cannot carry this record (nothing appended).  A format without
 *   TRACE_CAP_EVENTS is only given FRAME records (trace_writer_write drops the others).
 * header/footer(ws, first, out): append the file header / footer (may be NULL = none).
 *   header gets the first record to be written (for its timestamp) or NULL.
 * quick_check(line, len): optional; a fast test for the format's most common frame line (the
 *   shape its own writer produces).  true promises that parse() returns a FRAME for the line
 *   (in any parser state); false promises nothing (parse decides).  The same-format copy of
 *   trace_convert uses it to skip the full parse of ordinary lines.
 * convert_from(from, ps, ws, s, n, out, lines): optional; a fused conversion from the lines of
 *   another format (candump into ASC) that skips the general record.  Converts whole lines from
 *   the start of s[0, n) (the unread input: '\n'-terminated lines, maybe part of one more)
 *   while they have the ordinary layout it knows, appending exactly what parse() + write()
 *   would append to out and counting them in ps and ws, and returns the bytes taken (*lines
 *   set to their number).  0 when the first line is not one it takes: that line goes through
 *   parse() and write().  Called only after the header was written.
 * parse_ahead(ps, s, n, rec): optional; the reader's fast path over its buffer: when s[0, n)
 *   (n >= TRACE_AHEAD_READ) starts with the format's ordinary frame line and its '\n', fills
 *   rec exactly as parse() would for that line (without its '\n'), counts it in ps as parse()
 *   does and returns the line's length without the '\n'; 0 for any other line (which then
 *   goes through parse()).  It saves the search for the line end and the general parse.
 */
#define TRACE_AHEAD_READ 64 /* bytes parse_ahead() may read from the line's start */
struct trace_format {
  const char *name;
  const char *exts;   /* comma-separated file name endings: ".log,.candump" */
  const char *desc;
  unsigned caps;
  int (*detect)(const char *line, size_t len);
  int (*parse)(struct trace_pstate *ps, const char *line, size_t len, struct trace_record *rec,
               struct sim_diag *d);
  int (*write)(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out);
  int (*header)(struct trace_wstate *ws, const struct trace_record *first, struct sbuf *out);
  int (*footer)(struct trace_wstate *ws, struct sbuf *out);
  bool (*quick_check)(const char *line, size_t len);
  size_t (*convert_from)(const struct trace_format *from, struct trace_pstate *ps,
                         struct trace_wstate *ws, const char *s, size_t n, struct sbuf *out,
                         unsigned long *lines);
  size_t (*parse_ahead)(struct trace_pstate *ps, const char *s, size_t n,
                        struct trace_record *rec);
};

/* The registry: every format, NULL-terminated, in detection priority order. */
extern const struct trace_format *const trace_formats[];

/* The format called name (case-insensitive), or NULL. */
const struct trace_format *trace_format_find(const char *name);
/* The format whose extension list matches path's ending (".gz" is ignored), or NULL. */
const struct trace_format *trace_format_by_ext(const char *path);
/*
 * Detects the format from up to the first 64 non-blank lines of text (len bytes).  Returns the
 * format with the best score, or NULL when no line fits any format.
 */
const struct trace_format *trace_format_detect(const char *text, size_t len);

/* ---- streaming reader ---- */

struct trace_reader;

struct trace_reader_opts {
  const char *format;      /* format name; NULL = detect from content (then extension) */
  int64_t untimed_period;  /* ns between frames of untimed formats; 0 = 10 ms */
  bool map;                /* map a regular file (in sliding windows) instead of read()ing it:
                              faster for one pass over a finished file (trace_convert).  Not
                              for a file that may shrink while open (a truncated mapping
                              faults). */
};

/*
 * Opens path for reading ("-" = stdin; a name ending in ".gz", or gzip content, is inflated
 * when built with zlib).  The format is taken from opts->format or detected from the first
 * lines.  opts may be NULL.
 * Returns 0 and sets *out (owned by the caller: trace_reader_close()), -errno when the file
 * cannot be opened, SIM_EFORMAT when the format is unknown or undetectable (an error is added
 * to d), SIM_EUNSUP for .gz without zlib.
 */
int trace_reader_open(struct trace_reader **out, const char *path,
                      const struct trace_reader_opts *opts, struct sim_diag *d);
/*
 * Reads the next record, skipping lines that carry nothing.  Returns 1 with *rec filled (its
 * strings valid until the next call), 0 at the end of the input, SIM_EPARSE for a bad line
 * (recorded in d with file:line:col; the next call continues with the next line), SIM_ETRUNC
 * for a line longer than the reader's buffer (skipped, recorded in d) or a last line without
 * its line end (a truncated trace: the line is not used), -errno on read errors.
 */
int trace_reader_next(struct trace_reader *r, struct trace_record *rec, struct sim_diag *d);
/* With on, trace_reader_next also returns lines that carry nothing (headers, blank lines) as
 * TRACE_REC_NONE records (for copying a file line by line). */
void trace_reader_all_lines(struct trace_reader *r, bool on);
/* The text of the line last read (without its line end; valid until the next call). */
void trace_reader_raw(const struct trace_reader *r, const char **s, size_t *n);
/* Like trace_reader_next but returns only FRAME records. */
int trace_reader_next_frame(struct trace_reader *r, struct sim_frame *f, struct sim_diag *d);
/* The format being read. */
const struct trace_format *trace_reader_format(const struct trace_reader *r);
/* The number of the line last read (1-based). */
int trace_reader_line(const struct trace_reader *r);
/* Number of bad lines seen so far. */
unsigned long trace_reader_errors(const struct trace_reader *r);
/* Closes the file and frees r.  NULL is allowed. */
void trace_reader_close(struct trace_reader *r);

/* ---- writer ---- */

struct trace_writer;

/*
 * Creates path ("-" = stdout) for writing in fmt, or in the format of path's extension when
 * fmt is NULL (CRTD when the extension is unknown).  A name ending in ".gz" is compressed when
 * built with zlib.  Returns 0 and sets *out (trace_writer_close() it), -errno, SIM_EFORMAT for
 * a format that cannot be written.
 */
int trace_writer_open(struct trace_writer **out, const char *path, const struct trace_format *fmt);
/* Writes one record.  Returns 1 when written, 0 when the format cannot carry it (counted as
 * dropped), -errno on write errors. */
int trace_writer_write(struct trace_writer *w, const struct trace_record *rec);
/* Writes n bytes as they are (whole lines of the writer's own format, with their '\n').  Large
 * blocks go to the file directly from p, without a copy.  Returns 0 or -errno. */
int trace_writer_bytes(struct trace_writer *w, const char *p, size_t n);
/* Writes a line as it is (plus '\n'): for copying lines of the writer's own format.
 * Returns 1 or -errno. */
int trace_writer_raw(struct trace_writer *w, const struct trace_record *rec, const char *s,
                     size_t n);
/* Convenience: writes a frame record. */
int trace_writer_frame(struct trace_writer *w, const struct sim_frame *f);
/* Flushes buffered output.  Returns 0 or -errno. */
int trace_writer_flush(struct trace_writer *w);
const struct trace_format *trace_writer_format(const struct trace_writer *w);
unsigned long trace_writer_dropped(const struct trace_writer *w);
/* Writes the footer, flushes, closes and frees w.  Returns 0 or the first write error. */
int trace_writer_close(struct trace_writer *w);

/* ---- conversion ---- */

struct trace_convert_opts {
  const char *from;         /* input format name, NULL = detect */
  const char *to;           /* output format name, NULL = by OUT's extension */
  int64_t untimed_period;   /* as trace_reader_opts */
  bool keep_going;          /* skip bad lines (counted) instead of stopping at the first */
};

struct trace_convert_stats {
  unsigned long records;    /* records read */
  unsigned long frames;     /* frames written */
  unsigned long written;    /* records written */
  unsigned long dropped;    /* records the output format cannot carry */
  unsigned long bad_lines;  /* lines rejected (keep_going) */
};

/*
 * Converts in_path to out_path.  Every record the output format can carry is written; the
 * others are counted in stats->dropped.  When both formats are the same, every line that
 * parses is copied byte for byte (a validated copy; also .gz <-> plain).  Returns 0; SIM_EPARSE at the first bad line unless
 * keep_going (d has the location); SIM_EFORMAT; -errno.  stats may be NULL.
 */
int trace_convert(const char *in_path, const char *out_path, const struct trace_convert_opts *o,
                  struct trace_convert_stats *stats, struct sim_diag *d);

/*
 * For trace_convert's same-format copy: reads the rest of r, checks every line with the format's
 * parser and passes the input on through emit(ctx, p, n) unchanged, in runs of consecutive
 * lines as long as the reader's buffer or mapping allows (a trailing '\r' is dropped).  A last
 * line without its '\n' is a truncated trace (SIM_ETRUNC), like a bad line.  A bad line stops
 * the copy with its error (SIM_EPARSE, SIM_ETRUNC;
 * d filled) after the lines before it were passed on; with keep_going it is left out and
 * counted in st->bad_lines.  Counts records, written and frames in st (which the caller
 * zeroes).  Returns 0 at the end of the input, the error, -errno, or emit's error (< 0).
 */
typedef int (*trace_emit_fn)(void *ctx, const char *p, size_t n);
int trace_reader_copy(struct trace_reader *r, trace_emit_fn emit, void *ctx, bool keep_going,
                      struct trace_convert_stats *st, struct sim_diag *d);

/*
 * For trace_convert: the fused conversion of the writer format `to` (its convert_from, when it
 * has one) on the unread lines in r's buffer, appended to out.  Returns the bytes taken (*lines
 * set to the lines among them, counted as read); 0 when the next line needs
 * trace_reader_next() (not one the fused path takes, or not yet whole in the buffer).
 */
size_t trace_reader_convert(struct trace_reader *r, const struct trace_format *to,
                            struct trace_wstate *ws, struct sbuf *out, unsigned long *lines);

/*
 * For trace_convert: the records of up to max lines at the front of r's buffer that the
 * format's parse_ahead takes (ordinary frame lines), each as trace_reader_next() would return
 * it, into recs.  Returns how many (0 when the next line needs trace_reader_next()).
 */
size_t trace_reader_ahead(struct trace_reader *r, struct trace_record *recs, size_t max);

/* ---- helpers shared by the codecs (trace.c) ---- */

/* Fills rec as an empty record (kind NONE); the frame's data bytes are left as they are.
 * Inline: every fast path of the readers calls it once a frame. */
static inline void trace_record_clear(struct trace_record *rec)
{
  rec->kind = TRACE_REC_NONE;
  rec->frame.ts = 0;
  rec->frame.id = 0;
  rec->frame.flags = 0;
  rec->frame.bus = 0;
  rec->frame.len = 0;
  rec->ts = 0;
  rec->ts_relative = false;
  rec->untimed = false;
  rec->src[0] = 0;
  rec->name = rec->text = rec->unit = "";
  rec->name_len = rec->text_len = rec->unit_len = 0;
}
/* Parses "<sec>[.<frac>]" (up to 9 fraction digits) at s.  Returns the number of characters
 * used (0 = not a time) and sets *ns.  Negative values are accepted when neg is true. */
size_t trace_parse_time(const char *s, size_t len, bool neg, int64_t *ns);
/* As trace_parse_time (no sign), reusing the value of the seconds digits when they are the
 * same as on the previous line of ps. */
size_t trace_parse_time_ps(struct trace_pstate *ps, const char *s, size_t len, int64_t *ns);
/* Appends "<sec>.<frac>" with digits fraction digits (1..9), rounding toward zero. */
void trace_put_time(struct sbuf *out, int64_t ns, int digits);
/* Appends a byte as two hex digits (upper- or lowercase). */
void trace_put_hex8(struct sbuf *out, uint8_t v, bool upper);
/* Bus number (1-based) for an interface label, assigning the next number to a new label. */
uint8_t trace_src_bus(struct trace_pstate *ps, const char *src, size_t len);

#endif
