/* studio.h - the files under STUDIO_DIR/data.
 *
 * The Web Studio's own files keep its formats, so it can still open the folder:
 *   data/config.json        {"api_key","token","host_mode","query_defaults"}
 *   data/history.json       [{file,prompt,time,id,pid,url,duration_seconds}]
 *   data/active_tasks.json  [{id,prompt,start_time}]
 *   data/task_times.json    {id: start_ts}
 * and sora2fs keeps one record per job in data/sora2fs/jobs/<serial>.json.
 * Every write is atomic (temp file, rename); durable ones fsync too.
 */
#ifndef SORA2FS_STUDIO_H
#define SORA2FS_STUDIO_H

#include <cjson/cJSON.h>
#include <stdbool.h>

enum studio_file { SF_CONFIG, SF_HISTORY, SF_ACTIVE, SF_TIMES, SF__COUNT };

/* Remember where the studio is (creates nothing). */
void studio_open(const char *studio_dir);
/* Create the folders (data/, data/sora2fs/jobs, scratch folders, downloads).
 * 0 or -errno with *err. */
int studio_create_dirs(const char *downloads_dir, char **err);
void studio_close(void);
const char *studio_scratch_dir(int kind);   /* 0 = jobs, 1 = characters */

/* Load one Web Studio file; a missing file gives the empty default ({} or []).
 * A file that is not valid JSON, or of the wrong shape, is an error with *err
 * naming the file: it is never replaced. */
int studio_load(enum studio_file f, cJSON **out, char **err);
int studio_save(enum studio_file f, const cJSON *json);
/* The file as it is on disk now is one sora2fs wrote itself (outside.c). */
bool studio_is_own_write(enum studio_file f);
const char *studio_file_path(enum studio_file f);

/* Job records. load calls fn for each record (in serial order). */
int studio_load_jobs(void (*fn)(const cJSON *record, void *ctx), void *ctx, char **err);
int studio_save_job(unsigned serial, const cJSON *record, bool sync);
void studio_delete_job(unsigned serial);

#endif
