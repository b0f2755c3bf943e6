/* job_files.c - what each file of a job directory says (pure rendering).
 *
 *   $ cat jobs/cat/status        job_file_text(j, "status", &len) -> "running\n"
 *   $ cat jobs/cat/error         "" while there is no error
 *
 * The texts are rendered from the job as it is in memory (the caller holds the
 * model's lock); every stored text has already passed the secret filter.
 */
#include "job_files.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const job_file_names[] = {
	"prompt", "request.json", "id", "status", "progress", "error",
	"result.json", "ctl", "pid", "character_id", "video", NULL,
};

static char *line(const char *s)
{
	return (s && *s) ? xasprintf("%s\n", s) : xstrdup("");
}

char *job_file_text(const struct job *j, const char *file, size_t *len)
{
	char *t = NULL;
	if (strcmp(file, "status") == 0)
		t = line(job_status_name(j->status));
	else if (strcmp(file, "progress") == 0)
		t = xasprintf("%d\n", j->progress);
	else if (strcmp(file, "error") == 0)
		t = line(j->error);
	else if (strcmp(file, "id") == 0)
		t = line(j->id);
	else if (strcmp(file, "request.json") == 0)
		t = line(j->request_shown);
	else if (strcmp(file, "result.json") == 0)
		t = line(j->result);
	else if (strcmp(file, "ctl") == 0)
		t = xstrdup("");
	else if (strcmp(file, "prompt") == 0 && j->kind == JOB_VIDEO) {
		t = xmalloc(j->source_len + 1);
		memcpy(t, j->source, j->source_len);
		t[j->source_len] = '\0';
		*len = j->source_len;
		return t;
	} else if (strcmp(file, "pid") == 0 && j->kind == JOB_VIDEO && j->pid)
		t = line(j->pid);
	else if (strcmp(file, "character_id") == 0 && j->kind == JOB_CHARACTER && j->character_id)
		t = line(j->character_id);
	else if (strcmp(file, "video") == 0 && j->kind == JOB_VIDEO && j->video &&
		 j->status == ST_SUCCEEDED)
		t = xasprintf("../../videos/%s", j->video);
	if (t)
		*len = strlen(t);
	return t;
}

