/* job_record.h - a job's records under data/sora2fs/jobs/, to and from JSON.
 *
 *   N.json          the small state that changes (status, submit, progress, id, …)
 *   N.request.json  what never changes once the job exists: the dropped file's
 *                   bytes and name, the request as sent (local files inlined as
 *                   base64), request.json as shown; written once, before N.json
 *
 * Records written by older versions hold everything in N.json; they still load.
 */
#ifndef SORA2FS_JOB_RECORD_H
#define SORA2FS_JOB_RECORD_H

#include <cjson/cJSON.h>

#include "model.h"

cJSON *job_record_state(const struct job *j);
cJSON *job_record_request(const struct job *j);
/* The request part's file text from its pieces, without the job (so it can be
 * built before the model's lock is taken). malloc'd, with *len. */
char *job_record_request_text(const char *source, size_t source_len, const char *source_file,
			      const cJSON *request, const char *request_shown, size_t *len);
/* A new job from its records (req NULL: an old, single-file record). NULL with a
 * logged reason when the record has no valid name or status. */
struct job *job_record_load(const cJSON *state, const cJSON *req);

#endif
