/*
 * dbc.h - Vector CAN database (DBC) files: parser, and pure signal codecs.
 *
 * Parses messages (BO_), signals (SG_: start|length@order sign (factor,offset) [min|max]
 * "unit" receivers), simple multiplexing (M / mN), value descriptions (VAL_) and value tables
 * (VAL_TABLE_), comments (CM_, including the opendbc "CM_ \"IMPORT file\";" convention, which
 * dbc_load() follows), the GenMsgCycleTime attribute (BA_) and float signals (SIG_VALTYPE_).
 * Other sections (NS_, BS_, BU_, BA_DEF_, EV_, ...) and "//" line comments are skipped; an unknown
 * keyword, a malformed statement, a signal that does not fit its message or a string without
 * end is an error with file:line:col.  Files may have CRLF line ends and non-UTF-8 bytes in
 * strings.
 *
 * Bit numbering as in the DBC format: for little-endian (Intel, @1) signals the start bit is
 * the least significant bit, numbered byte * 8 + bit; for big-endian (Motorola, @0) signals it
 * is the most significant bit in the same numbering, and the signal continues towards bit 0
 * of that byte, then bit 7 of the next byte ("sawtooth").  LB_Current 7|11@0- of the Leaf is
 * d0 bits 7..0 then d1 bits 7..5.
 *
 * Decoding and encoding allocate nothing; a parsed struct dbc is immutable.
 */
#ifndef SIM_DBC_H
#define SIM_DBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

#define DBC_ID_EXT 0x80000000u /* bit 31 of a BO_ id: 29-bit frame */

enum dbc_mux { DBC_MUX_NONE, DBC_MUX_SWITCH /* M */, DBC_MUX_VALUE /* mN */ };
enum dbc_valtype { DBC_INT, DBC_FLOAT32, DBC_FLOAT64 };

struct dbc_value_desc {
  int64_t value;
  char *text;
};

struct dbc_signal {
  char *name;
  uint16_t start;       /* as written in the file */
  uint8_t length;       /* 1..64 */
  bool little_endian;   /* @1 */
  bool is_signed;       /* - */
  uint8_t valtype;      /* enum dbc_valtype (SIG_VALTYPE_) */
  uint8_t mux;          /* enum dbc_mux */
  uint32_t mux_value;   /* DBC_MUX_VALUE */
  double factor, offset, min, max;
  char *unit;
  char *comment;        /* CM_ SG_, or NULL */
  struct dbc_value_desc *vals; /* VAL_, sorted by value */
  size_t n_vals;
  /* precomputed for frames of up to 8 bytes: value = (word >> shift) & mask, where word is
   * the little-endian (LE signals) or big-endian (BE signals) 64-bit load of the data */
  uint8_t shift;
  uint16_t last_byte;   /* highest byte index the signal touches */
  int line;             /* where it was defined */
};

struct dbc_message {
  uint32_t id;          /* with DBC_ID_EXT for 29-bit ids */
  char *name;
  uint8_t dlc;          /* bytes */
  char *sender;
  char *comment;
  uint32_t cycle_ms;    /* BA_ "GenMsgCycleTime", 0 = unknown */
  struct dbc_signal *sigs;
  size_t n_sigs;
  int mux_index;        /* index of the M signal, -1 if none */
  int line;
};

struct dbc_value_table {
  char *name;
  struct dbc_value_desc *vals;
  size_t n_vals;
};

struct dbc {
  char *version;
  char *comment;        /* global CM_ (the last one) */
  struct dbc_message *msgs; /* sorted by id */
  size_t n_msgs;
  struct dbc_value_table *tables;
  size_t n_tables;
};

/*
 * Parses DBC text (len bytes, need not be NUL-terminated).  file names the input in
 * diagnostics.  Every error found goes to d; parsing continues after an error where it can.
 * Returns 0 and sets *out (free with dbc_free()), or SIM_EPARSE (nothing is returned).
 * IMPORT comments are recorded but not followed (see dbc_load()).
 */
int dbc_parse(const char *text, size_t len, const char *file, struct dbc **out,
              struct sim_diag *d);

/*
 * Reads and parses a DBC file, then every file named by a global `CM_ "IMPORT name";`
 * (relative to the importing file, up to 8 levels); messages of imported files are merged
 * (the importing file wins on duplicate ids).  Returns 0, SIM_EPARSE, or -errno when a file
 * cannot be read (also reported in d with the file name).
 */
int dbc_load(const char *path, struct dbc **out, struct sim_diag *d);

void dbc_free(struct dbc *dbc);

/* The message with this id (with DBC_ID_EXT for 29-bit), or NULL.  Binary search. */
const struct dbc_message *dbc_find_message(const struct dbc *dbc, uint32_t id);
/* The signal called name in m, or NULL. */
const struct dbc_signal *dbc_find_signal(const struct dbc_message *m, const char *name);

/* The raw value of s in data (len bytes), sign-extended when the signal is signed.  Bits
 * beyond len read as 0. */
int64_t dbc_signal_raw(const struct dbc_signal *s, const uint8_t *data, size_t len);
/* The physical value: raw * factor + offset (IEEE float signals: the float, scaled). */
double dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len);
/* True if s is present in this frame: not multiplexed, or its mux value matches the frame's
 * multiplexor. */
bool dbc_signal_active(const struct dbc_message *m, const struct dbc_signal *s,
                       const uint8_t *data, size_t len);

/* Writes raw (truncated to the signal's length) into data. */
void dbc_signal_put_raw(const struct dbc_signal *s, int64_t raw, uint8_t *data, size_t len);
/* Writes a physical value: raw = round((value - offset) / factor), clamped to what the
 * signal can hold.  Returns 0, or SIM_ERANGE if the value had to be clamped. */
int dbc_signal_encode(const struct dbc_signal *s, double value, uint8_t *data, size_t len);

/* The text of a value description of s for raw, or NULL. */
const char *dbc_value_text(const struct dbc_signal *s, int64_t raw);
/* The raw value whose description is text; returns 0 and sets *raw, or SIM_ENOTFOUND. */
int dbc_value_lookup(const struct dbc_signal *s, const char *text, int64_t *raw);

#endif
