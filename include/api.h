/* api.h - the Sora2 protocol: request bodies and parsing answers. Pure, fuzzable.
 *
 * Every call is a POST of JSON (except model status, a GET) and every answer an
 * envelope {"code":0,"msg":"success","data":…}; see ../shared/api-contract.md.
 */
#ifndef SORA2FS_API_H
#define SORA2FS_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define API_PATH_VIDEO            "/v1/video/sora-video"
#define API_PATH_RESULT           "/v1/draw/result"
#define API_PATH_UPLOAD_CHARACTER "/v1/video/sora-upload-character"
#define API_PATH_CREATE_CHARACTER "/v1/video/sora-create-character"
#define API_PATH_CREATE_KEY       "/client/openapi/createAPIKey"
#define API_PATH_KEY_CREDITS      "/client/openapi/getAPIKeyCredits"
#define API_PATH_CREDITS          "/client/openapi/getCredits"
#define API_PATH_MODEL_STATUS     "/client/common/getModelStatus?model=sora-2"

#define API_HOST_DOMESTIC "https://grsai.dakka.com.cn"
#define API_HOST_OVERSEAS "https://grsaiapi.com"

/* Body for POST /v1/video/sora-video from a validated request: "model":"sora-2",
 * "webHook":"-1", then prompt, duration, aspectRatio, size, url, remixTargetId
 * when present (other keys from defaults copied through). Caller frees. */
cJSON *api_video_body(const cJSON *req);
/* Body for a character request: {"url"|"pid", "timestamps", "webHook":"-1"};
 * *path set to the matching endpoint path. */
cJSON *api_character_body(const cJSON *req, const char **path);
cJSON *api_result_body(const char *task_id);

/* Outcome of parsing an HTTP answer. */
enum api_outcome {
	API_OK,          /* code 0; *data set (may be JSON null) */
	API_ERR_CODE,    /* non-zero code; *msg = the API's msg ("code -22: task not found") */
	API_ERR_SYNTAX,  /* not JSON, or no envelope; *msg says so */
};
/* Parse an envelope. data (caller frees with cJSON_Delete) is detached from the
 * envelope. *code gets the code (0 when absent and data present). */
enum api_outcome api_parse_envelope(const char *body, size_t len, cJSON **data,
				    long *code, char **msg);

/* A task object, normalized. Strings malloc'd (NULL when absent). */
typedef struct {
	char *id;
	char *status;         /* as sent: running, succeeded, failed, violation, … */
	int progress;         /* 0..100, -1 when missing */
	char *url;            /* results[0].url */
	char *pid;            /* results[0].pid */
	char *character_id;   /* results[0].character_id */
	char *failure_reason; /* input_moderation | output_moderation | error | … */
	char *error;          /* detail text */
} api_task;

enum api_task_state { TASK_RUNNING, TASK_SUCCEEDED, TASK_FAILED, TASK_UNKNOWN_FINAL };

/* Fill t from a task object (the "data" of a poll). Returns 0, or -EINVAL when it
 * is not an object. Progress is clamped to 0..100; numbers sent as strings work. */
int api_task_parse(const cJSON *data, api_task *t);
void api_task_free(api_task *t);
/* running/queued/processing/pending (any case) -> RUNNING, succeeded/success ->
 * SUCCEEDED, failed/violation -> FAILED, anything else -> UNKNOWN_FINAL. */
enum api_task_state api_task_state(const api_task *t);
/* "input_moderation" -> "the prompt was rejected by content moderation", etc.,
 * joined with the detail: malloc'd sentence for the job's error file. */
char *api_task_failure_text(const api_task *t);
/* Task id from the submit answer's data ({"id": "…"}); malloc'd or NULL. */
char *api_submit_id(const cJSON *data);

/* Streaming answers (no webHook): lines "data: {…}" or bare "{…}"; returns the last
 * complete task object found in the text (caller frees) or NULL. */
cJSON *api_stream_last_task(const char *body, size_t len);
/* One line of a stream (without its newline): the task object it carries, or
 * NULL (comment, event:, [DONE], blank, not JSON). Caller frees. */
cJSON *api_stream_line_task(const char *line, size_t len);
/* Make a body of api_video_body / api_character_body ask for a streamed
 * answer: webHook and shutProgress removed (NULL: nothing to do). */
void api_body_stream(cJSON *body);

#endif
