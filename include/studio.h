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

#include "writer.h"

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
/* Write one Web Studio file now, in the caller (config.json: the caller waits
 * for the result). 0 or -errno (logged). */
int studio_save(enum studio_file f, const cJSON *json);
/* Queue the write on the writer thread (history, active tasks, task times). */
void studio_save_async(enum studio_file f, const cJSON *json);
/* The same, with done (may be NULL) called with the result on the writer thread. */
void studio_save_queued(enum studio_file f, const cJSON *json, writer_done_fn done, void *ctx);
/* The file as it is on disk now is one sora2fs wrote itself (outside.c). */
bool studio_is_own_write(enum studio_file f);
const char *studio_file_path(enum studio_file f);

/* Job records (see job_record.h). load calls fn for each state record, with its
 * request part or NULL (in serial order). */
int studio_load_jobs(void (*fn)(const cJSON *record, const cJSON *request, void *ctx),
		     void *ctx, char **err);
char *studio_job_path(unsigned serial);     /* malloc'd data/sora2fs/jobs/N.json */
/* Queued on the writer thread; done (may be NULL) gets the result. */
void studio_save_job(unsigned serial, const cJSON *record, bool sync,
		     writer_done_fn done, void *ctx);
/* The unchanging part, written once (durably) before the first state record. */
void studio_save_job_request(unsigned serial, cJSON *request, writer_done_fn done, void *ctx);
/* The same from its text (job_record_request_text; taken). */
void studio_save_job_request_text(unsigned serial, char *text, size_t len,
				  writer_done_fn done, void *ctx);
void studio_delete_job(unsigned serial);
/* Temp files left by a crashed daemon (data/, job records, downloads). */
void studio_clean_leftovers(const char *downloads_dir);

#endif
