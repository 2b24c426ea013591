/* boson serve: the OpenAI- and Anthropic-compatible HTTP server (src/server). The main
 * thread only waits for SIGINT / SIGTERM (blocked in every thread, taken with sigtimedwait)
 * and then stops the server gracefully. */
#include "cli/cli.h"
#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: boson serve <model> [options]\n\n"
                 "Serves the model over HTTP: POST /v1/chat/completions, /v1/completions,\n"
                 "/v1/messages, /v1/messages/count_tokens; GET /v1/models, /health, /metrics.\n"
                 "The socket listens first; /health answers 503 until the model is loaded.\n\n"
                 "  --host ADDR          numeric address to bind (default 127.0.0.1)\n"
                 "  --port N             port (default 8080)\n"
                 "  --api-key KEY        require 'Authorization: Bearer KEY' or 'x-api-key: KEY'\n"
                 "                       (default: $BOSON_API_KEY; none when unset)\n"
                 "  --max-body-mb N      largest request body in MiB (default 16)\n"
                 "  --max-concurrent N   generations running at once (default 4)\n"
                 "  --max-queue N        requests waiting beyond those; more get 503 (default 64)\n"
                 "  --ctx N              context limit per request (default: the model's)\n"
                 "  --threads N          math threads (0 = online CPUs, default)\n"
                 "  --quiet, -q          no load log\n"
                 "  --help, -h           this text\n"
                 "SIGINT / SIGTERM stop the server gracefully (exit 0).\n"
                 "Exit codes: 0 ok, 1 usage, 2 model/load error, 3 runtime error.\n");
}

int bs_cmd_serve(int argc, char **argv)
{
    sv_options o;
    sv_options_init(&o);
    o.api_key = getenv("BOSON_API_KEY");
    const char *model = NULL;
    int mb = 16, ctx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int ok = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            serve_usage(stdout);
            return BS_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o.quiet = 1;
        } else if (!strcmp(a, "--host") && i + 1 < argc) {
            o.host = argv[++i];
        } else if (!strcmp(a, "--api-key") && i + 1 < argc) {
            o.api_key = argv[++i];
        } else if (!strcmp(a, "--port") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 0, 65535, &o.port);
        } else if (!strcmp(a, "--max-body-mb") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 1, 4096, &mb);
        } else if (!strcmp(a, "--max-concurrent") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 1, 1024, &o.max_concurrent);
        } else if (!strcmp(a, "--max-queue") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 0, 100000, &o.max_queue);
        } else if (!strcmp(a, "--ctx") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 2, 1 << 30, &ctx);
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            ok = !bs_cli_parse_int(a, argv[++i], 0, 4096, &o.threads);
        } else if (a[0] == '-' || model) {
            fprintf(stderr, "boson serve: unexpected argument '%s' (try --help)\n", a);
            return BS_EXIT_USAGE;
        } else {
            model = a;
        }
        if (!ok)
            return BS_EXIT_USAGE;
    }
    if (!model) {
        serve_usage(stderr);
        return BS_EXIT_USAGE;
    }
    o.max_body = (size_t)mb << 20;
    o.ctx = ctx;
    char *path = NULL;
    int rc = bs_cli_model_path(model, &path);
    if (rc != BS_EXIT_OK)
        return rc;
    o.model_path = path;

    /* Every thread started from here on inherits the blocked set. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sv_server *srv;
    boson_error err = {0};
    if (sv_server_start(&o, &srv, &err) != BOSON_OK) {
        fprintf(stderr, "boson serve: %s\n", err.message);
        free(path);
        return err.status == BOSON_ERR_INVALID_ARG ? BS_EXIT_USAGE : BS_EXIT_RUNTIME;
    }
    fprintf(stderr, "boson serve: listening on http://%s:%d (loading %s)\n", o.host,
            sv_server_port(srv), path);
    rc = BS_EXIT_OK;
    int announced = 0;
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "boson serve: %s, shutting down\n",
                    sig == SIGINT ? "interrupted" : "terminated");
            break;
        }
        int st = sv_server_state(srv, &err);
        if (st < 0) {
            fprintf(stderr, "boson serve: %s\n", err.message);
            rc = BS_EXIT_LOAD;
            break;
        }
        if (st == 1 && !announced) {
            fprintf(stderr, "boson serve: model ready\n");
            announced = 1;
        }
    }
    sv_server_stop(srv);
    free(path);
    return rc;
}
