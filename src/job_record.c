/* job_record.c - a job's records under data/sora2fs/jobs/, to and from JSON.
 *
 *   $ cat data/sora2fs/jobs/3.json
 *   {"format": 2, "serial": 3, "kind": "video", "name": "cat", "status": "running",
 *    "submit": "accepted", "id": "task_…", "progress": 40, …}
 *   $ cat data/sora2fs/jobs/3.request.json      (written once)
 *   {"serial": 3, "source": "a cat\n", "source_file": "cat.txt", "request": {…}, …}
 *
 * Splitting the two keeps every progress tick a few hundred bytes, however big
 * the prompt or the inlined reference image is.
 */
#include "job_record.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "job_fsm.h"
#include "json_file.h"
#include "log.h"
#include "names.h"
#include "util.h"

#define RECORD_FORMAT 2

/* the statuses a record can hold (not ST_NEW) */
static int status_from_name(const char *s)
{
	for (int i = 0; s && i < ST_NEW; i++)
		if (strcmp(fsm_status_name((enum job_status)i), s) == 0)
			return i;
	return -1;
}

cJSON *job_record_state(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "format", RECORD_FORMAT);
	cJSON_AddNumberToObject(o, "serial", j->serial);
	cJSON_AddStringToObject(o, "kind", j->kind == JOB_VIDEO ? "video" : "character");
	cJSON_AddStringToObject(o, "name", j->name);
	json_set_str(o, "id", j->id);
	json_set_str(o, "host", j->host);
	cJSON_AddStringToObject(o, "status", fsm_status_name(j->status));
	cJSON_AddStringToObject(o, "submit", j->submit == SUBMIT_NONE ? "none"
				: j->submit == SUBMIT_SENDING ? "sending" : "accepted");
	cJSON_AddNumberToObject(o, "progress", j->progress);
	json_set_str(o, "error", j->error);
	json_set_str(o, "result", j->result);
	json_set_str(o, "url", j->url);
	json_set_str(o, "pid", j->pid);
	json_set_str(o, "character_id", j->character_id);
	json_set_str(o, "video", j->video);
	cJSON_AddNumberToObject(o, "created", j->created);
	cJSON_AddNumberToObject(o, "started", j->started);
	cJSON_AddNumberToObject(o, "finished", j->finished);
	cJSON_AddBoolToObject(o, "upstream_succeeded", j->upstream_succeeded);
	return o;
}

/* Every JSON file is UTF-8 text: bytes that are not (a rejected drop) are kept
 * losslessly as base64. */
static void add_source(cJSON *o, const char *source, size_t len)
{
	const char *sb = source ? source : "";
	if (str_utf8_valid(sb, len) && !memchr(sb, '\0', len)) {
		cJSON_AddStringToObject(o, "source", sb);
	} else {
		char *b64 = str_base64_encode(sb, len);
		cJSON_AddStringToObject(o, "source_base64", b64);
		free(b64);
	}
}

cJSON *job_record_request(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();
	add_source(o, j->source, j->source_len);
	json_set_str(o, "source_file", j->source_file);
	if (j->request)
		cJSON_AddItemToObject(o, "request", cJSON_Duplicate(j->request, 1));
	json_set_str(o, "request_shown", j->request_shown);
	return o;
}

char *job_record_request_text(const char *source, size_t source_len, const char *source_file,
			      const cJSON *request, const char *request_shown, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	add_source(o, source, source_len);
	json_set_str(o, "source_file", source_file);
	/* a reference: the (possibly 27 MB) request is printed, not copied */
	if (request)
		cJSON_AddItemReferenceToObject(o, "request", (cJSON *)request);
	json_set_str(o, "request_shown", request_shown);
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *out = xasprintf("%s\n", t);
	cJSON_free(t);
	*len = strlen(out);
	return out;
}

struct job *job_record_load(const cJSON *r, const cJSON *req)
{
	const char *name = json_str(r, "name");
	int status = status_from_name(json_str(r, "status"));
	if (!name || !name_valid(name) || status < 0) {
		log_error("job record %u has no valid name or status; ignored",
			  (unsigned)json_num_in(r, "serial", 0, UINT_MAX, 0));
		return NULL;
	}
	/* old records (one file) hold the unchanging part themselves */
	const cJSON *q = req ? req : r;
	struct job *j = xcalloc(1, sizeof *j);
	j->serial = (unsigned)json_num_in(r, "serial", 0, UINT_MAX, 0);
	j->kind = strcmp(json_str(r, "kind") ? json_str(r, "kind") : "", "character") == 0
		  ? JOB_CHARACTER : JOB_VIDEO;
	j->name = xstrdup(name);
	const char *src = json_str(q, "source"), *b64 = json_str(q, "source_base64");
	if (!b64 || str_base64_decode(b64, &j->source, &j->source_len) < 0) {
		j->source = xstrdup(src ? src : "");
		j->source_len = strlen(j->source);
	}
	j->source_file = xstrdup(json_str(q, "source_file"));
	const cJSON *rq = cJSON_GetObjectItemCaseSensitive(q, "request");
	j->request = cJSON_IsObject(rq) ? cJSON_Duplicate(rq, 1) : NULL;
	j->request_shown = xstrdup(json_str(q, "request_shown"));
	j->id = xstrdup(json_str(r, "id"));
	j->host = xstrdup(json_str(r, "host"));
	j->status = (enum job_status)status;
	const char *sub = json_str(r, "submit");
	j->submit = !sub || strcmp(sub, "none") == 0 ? SUBMIT_NONE
		    : strcmp(sub, "sending") == 0 ? SUBMIT_SENDING : SUBMIT_ACCEPTED;
	j->progress = (int)json_num_in(r, "progress", 0, 100, 0);
	/* records written before every text was masked may hold a secret */
	j->error = json_str(r, "error") ? log_redact(json_str(r, "error")) : NULL;
	j->result = json_str(r, "result") ? log_redact(json_str(r, "result")) : NULL;
	j->url = xstrdup(json_str(r, "url"));
	j->pid = xstrdup(json_str(r, "pid"));
	j->character_id = xstrdup(json_str(r, "character_id"));
	j->video = xstrdup(json_str(r, "video"));
	j->created = json_num_in(r, "created", 0, JSON_TIME_MAX, now_wall());
	j->started = json_num_in(r, "started", 0, JSON_TIME_MAX, 0);
	j->finished = json_num_in(r, "finished", 0, JSON_TIME_MAX, 0);
	j->upstream_succeeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "upstream_succeeded"));
	j->mtime = j->finished > 0 ? j->finished : j->created;
	/* a state record written as format 2 without its request part: the
	 * request cannot be sent again, but the job still shows */
	if (!req && json_num_in(r, "format", 0, 100, 1) >= 2)
		log_warn("job record %u: its request part is missing", j->serial);
	return j;
}
