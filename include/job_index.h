/* job_index.h - the jobs by (kind, name) and by serial, in hash tables.
 *
 *   job_index_add(j);                    after the job is in the list
 *   job_index_find(JOB_VIDEO, "cat")     -> j, in constant time
 *   job_index_serial(17)                 -> j
 *   job_index_remove(j);                 before its name changes or it is freed
 *
 * model.c keeps the list (its order is the listing order) and this index in
 * step, under the model lock; the index owns nothing but its own nodes.
 */
#ifndef SORA2FS_JOB_INDEX_H
#define SORA2FS_JOB_INDEX_H

#include "model.h"

void job_index_add(struct job *j);
void job_index_remove(struct job *j);
struct job *job_index_find(enum job_kind kind, const char *name);
struct job *job_index_serial(unsigned serial);
void job_index_clear(void);

#endif
