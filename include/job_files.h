/* job_files.h - the content of each file in a job directory (pure rendering).
 *
 *   size_t len;
 *   char *t = job_file_text(j, "status", &len);   // "queued\n", malloc'd
 */
#ifndef SORA2FS_JOB_FILES_H
#define SORA2FS_JOB_FILES_H

#include <stddef.h>

#include "model.h"

/* Every file a job directory may hold, NULL-terminated, in listing order. */
extern const char *const job_file_names[];

/* The content of one job file (malloc'd), NULL when the job has no such file
 * (now). *len is the length: the prompt may hold NUL bytes. Model lock held. */
char *job_file_text(const struct job *j, const char *file, size_t *len);

#endif
