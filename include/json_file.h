/* json_file.h - JSON files on disk, read strictly and written atomically.
 *
 * A file that exists but cannot be parsed is an error (never an empty default):
 * the Web Studio silently replaced such files and lost people's history.
 */
#ifndef SORA2FS_JSON_FILE_H
#define SORA2FS_JSON_FILE_H

#include <cjson/cJSON.h>
#include <sys/types.h>

/* Load path. Missing file: returns 0 with *out = NULL. Unparsable: returns -EBADMSG
 * and *err = malloc'd "path: not valid JSON near byte N". Other: -errno. */
int json_load(const char *path, cJSON **out, char **err);
/* Serialize (pretty, UTF-8 kept as is, trailing newline) and write atomically. */
int json_save(const char *path, const cJSON *json, mode_t mode);

/* cJSON allocates through xmalloc: out of memory ends the daemon with a message
 * (the project's policy, util.h), never a NULL dereference deep in a parse.
 * Called once at start-up, before any thread. */
void json_init_hooks(void);

/* Small accessors that tolerate missing/mistyped members. */
const char *json_str(const cJSON *obj, const char *key);      /* NULL if absent/not string */
double json_num(const cJSON *obj, const char *key, double dflt);
/* json_num, but dflt unless min <= value <= max (NaN and infinities too): what a
 * file or a server says is checked before it is converted to an integer. */
double json_num_in(const cJSON *obj, const char *key, double min, double max, double dflt);
#define JSON_TIME_MAX 1e11 /* seconds since 1970: year 5138 */
/* Set obj[key] = string (replacing). value NULL removes. */
void json_set_str(cJSON *obj, const char *key, const char *value);
void json_set_num(cJSON *obj, const char *key, double value);

#endif
