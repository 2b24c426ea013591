/* Streaming split of generated text into reasoning, content and tool calls (output_parser.h). */
#include "text/output_parser.h"

#include "base/error.h"
#include "text/textbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char TAG_THINK[] = "<think>";
static const char TAG_END_THINK[] = "</think>";
static const char TAG_TOOL[] = "<tool_call>";
static const char TAG_END_TOOL[] = "</tool_call>";
#define END_TOOL_LEN (sizeof TAG_END_TOOL - 1)
#define STAGE_FLUSH 4096
#define TOOL_BUF_KEEP 65536

typedef enum mode { M_CONTENT, M_REASONING, M_TOOL, M_DONE } mode;
typedef enum kind { K_NONE, K_CONTENT, K_REASONING } kind;

struct bs_outparse {
    mode mode;
    int leading;       /* drop whitespace: right after a tag */
    int think_allowed; /* a <think> may still open reasoning */
    int no_think;
    bs_tool_format fmt;
    json_t *tools_owned;
    const json_t *tools;
    char *id_prefix;
    size_t max_tool; /* body + end tag */
    size_t n_calls;

    unsigned char ws[BS_OUTPARSE_WS_HOLD]; /* held whitespace that may precede a tag */
    size_t n_ws;
    char tag[16]; /* held bytes that may begin a tag */
    size_t n_tag;

    bs_bytes_buf tool; /* whitespace before it + "<tool_call>" + body so far */
    size_t body_off;

    bs_bytes_buf stage; /* text not yet given to the sink, all of one kind */
    kind stage_kind;

    /* per call */
    const bs_outparse_sink *sink;
    boson_error *err;
    boson_status st;
};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void fail_nomem(bs_outparse *p)
{
    if (p->st == BOSON_OK)
        p->st = bs_error_set(p->err, BOSON_ERR_NOMEM, "output parser: out of memory");
}

static void sink_status(bs_outparse *p, boson_status s, const char *what)
{
    if (s != BOSON_OK && p->st == BOSON_OK) {
        p->st = s;
        if (p->err && p->err->status == BOSON_OK)
            bs_error_set(p->err, s, "output parser: %s callback failed", what);
    }
}

static void flush(bs_outparse *p)
{
    if (p->stage.n && p->st == BOSON_OK) {
        const bs_outparse_sink *s = p->sink;
        switch (p->stage_kind) {
        case K_CONTENT:
            if (s && s->on_content)
                sink_status(p, s->on_content(s->ctx, (const char *)p->stage.p, p->stage.n),
                            "content");
            break;
        case K_REASONING:
            if (s && s->on_reasoning)
                sink_status(p, s->on_reasoning(s->ctx, (const char *)p->stage.p, p->stage.n),
                            "reasoning");
            break;
        case K_NONE: break;
        }
    }
    p->stage.n = 0;
    p->stage_kind = K_NONE;
}

static void out_text(bs_outparse *p, kind k, const void *s, size_t n)
{
    if (n == 0 || p->st != BOSON_OK)
        return;
    if (p->stage_kind != k)
        flush(p);
    p->stage_kind = k;
    if (!bs_bytes_append(&p->stage, s, n)) {
        fail_nomem(p);
        return;
    }
    if (p->stage.n >= STAGE_FLUSH)
        flush(p);
}

static kind text_kind(const bs_outparse *p)
{
    return p->mode == M_REASONING ? K_REASONING : K_CONTENT;
}

/* Ordinary (non-whitespace) text of the current mode. */
static void emit_text(bs_outparse *p, const void *s, size_t n)
{
    kind k = text_kind(p);
    if (p->n_ws) {
        out_text(p, k, p->ws, p->n_ws);
        p->n_ws = 0;
    }
    out_text(p, k, s, n);
    p->leading = 0;
    if (p->mode == M_CONTENT)
        p->think_allowed = 0;
}

/* The tags that can start in the current mode; returns how many (0..2). */
static int active_tags(const bs_outparse *p, const char *tags[2])
{
    int n = 0;
    switch (p->mode) {
    case M_CONTENT:
        if (p->think_allowed && !p->no_think)
            tags[n++] = TAG_THINK;
        if (p->fmt != BS_TOOL_FORMAT_NONE)
            tags[n++] = TAG_TOOL;
        break;
    case M_REASONING: tags[n++] = TAG_END_THINK; break;
    case M_TOOL:
    case M_DONE: break;
    }
    return n;
}

static void on_tag(bs_outparse *p, const char *t)
{
    if (t == TAG_TOOL) {
        p->tool.n = 0;
        if (!bs_bytes_append(&p->tool, p->ws, p->n_ws) ||
            !bs_bytes_append(&p->tool, TAG_TOOL, sizeof TAG_TOOL - 1)) {
            fail_nomem(p);
            return;
        }
        p->body_off = p->tool.n;
        p->n_ws = 0;
        p->mode = M_TOOL;
        return;
    }
    p->n_ws = 0; /* layout whitespace before <think> / </think> */
    p->mode = t == TAG_THINK ? M_REASONING : M_CONTENT;
    p->leading = 1;
    p->think_allowed = 0;
}

/* One byte in content or reasoning mode. */
static void step(bs_outparse *p, unsigned char c)
{
    const char *tags[2];
    int nt = active_tags(p, tags);
    if (p->n_tag) {
        p->tag[p->n_tag] = (char)c;
        size_t n = p->n_tag + 1;
        int prefix = 0;
        for (int i = 0; i < nt; i++) {
            size_t tl = strlen(tags[i]);
            if (n <= tl && memcmp(tags[i], p->tag, n) == 0) {
                if (n == tl) {
                    p->n_tag = 0;
                    on_tag(p, tags[i]);
                    return;
                }
                prefix = 1;
            }
        }
        if (prefix) {
            p->n_tag = n;
            return;
        }
        /* not a tag after all: the held bytes are text; c starts afresh */
        size_t held = p->n_tag;
        p->n_tag = 0;
        emit_text(p, p->tag, held);
        nt = active_tags(p, tags); /* text may have closed the <think> window */
    }
    if (c == '<' && nt > 0) {
        p->tag[0] = '<';
        p->n_tag = 1;
        return;
    }
    if (is_ws(c)) {
        if (p->leading)
            return;
        if (nt == 0) {
            out_text(p, text_kind(p), &c, 1);
            return;
        }
        if (p->n_ws == BS_OUTPARSE_WS_HOLD) {
            out_text(p, text_kind(p), p->ws, 1);
            memmove(p->ws, p->ws + 1, BS_OUTPARSE_WS_HOLD - 1);
            p->n_ws--;
        }
        p->ws[p->n_ws++] = c;
        return;
    }
    emit_text(p, &c, 1);
}

static void release_tool_buffer(bs_outparse *p)
{
    if (p->tool.cap > TOOL_BUF_KEEP)
        bs_bytes_free(&p->tool);
    p->tool.n = 0;
    p->body_off = 0;
}

/* The tool buffer is text after all. */
static void tool_as_content(bs_outparse *p)
{
    out_text(p, K_CONTENT, p->tool.p, p->tool.n);
    release_tool_buffer(p);
    p->mode = M_CONTENT;
    p->leading = 0;
    p->think_allowed = 0;
}

static void close_tool(bs_outparse *p)
{
    const char *body = (const char *)p->tool.p + p->body_off;
    size_t len = p->tool.n - p->body_off - END_TOOL_LEN;
    bs_tool_call_parsed call;
    boson_error perr;
    boson_status s = bs_tool_call_parse(body, len, p->fmt, p->tools, &call, &perr);
    if (s == BOSON_ERR_NOMEM) {
        fail_nomem(p);
        return;
    }
    if (s != BOSON_OK) {
        tool_as_content(p);
        return;
    }
    flush(p);
    size_t idx = p->n_calls++;
    size_t idl = strlen(p->id_prefix) + 24;
    char *id = malloc(idl);
    if (!id) {
        bs_tool_call_parsed_free(&call);
        fail_nomem(p);
        return;
    }
    snprintf(id, idl, "%s%zu", p->id_prefix, idx);
    const bs_outparse_sink *k = p->sink;
    if (k && k->on_tool_call_begin && p->st == BOSON_OK)
        sink_status(p, k->on_tool_call_begin(k->ctx, idx, id, call.name), "tool_call_begin");
    if (k && k->on_tool_call_args && p->st == BOSON_OK)
        sink_status(p, k->on_tool_call_args(k->ctx, idx, call.arguments, call.arguments_len),
                    "tool_call_args");
    if (k && k->on_tool_call_end && p->st == BOSON_OK)
        sink_status(p, k->on_tool_call_end(k->ctx, idx, call.arguments), "tool_call_end");
    free(id);
    bs_tool_call_parsed_free(&call);
    release_tool_buffer(p);
    p->mode = M_CONTENT;
    p->leading = 1;
    p->think_allowed = 0;
}

/* Tool mode: takes bytes up to the next '>' (where the end tag can complete); returns how many
 * bytes of s it consumed. The held text (body + end tag) may reach max_tool bytes; the byte past
 * that turns the whole call into content, wherever the input was cut. */
static size_t tool_bytes(bs_outparse *p, const unsigned char *s, size_t n)
{
    const unsigned char *gt = memchr(s, '>', n);
    size_t seg = gt ? (size_t)(gt - s) + 1 : n;
    size_t have = p->tool.n - p->body_off;
    size_t avail = p->max_tool - have;
    size_t take = seg > avail ? avail + 1 : seg;
    if (!bs_bytes_append(&p->tool, s, take)) {
        fail_nomem(p);
        return n;
    }
    have += take;
    if (have > p->max_tool) {
        tool_as_content(p);
    } else if (s[take - 1] == '>' && have >= END_TOOL_LEN &&
               memcmp(p->tool.p + p->tool.n - END_TOOL_LEN, TAG_END_TOOL, END_TOOL_LEN) == 0) {
        close_tool(p);
    }
    return take;
}

static void run(bs_outparse *p, const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && p->st == BOSON_OK) {
        if (p->mode == M_TOOL) {
            i += tool_bytes(p, s + i, n - i);
            continue;
        }
        if (p->n_tag == 0) { /* a run of ordinary bytes goes out in one piece */
            size_t j = i;
            while (j < n && s[j] != '<' && !is_ws(s[j]))
                j++;
            if (j > i) {
                emit_text(p, s + i, j - i);
                i = j;
                continue;
            }
        }
        step(p, s[i++]);
    }
}

static boson_status begin_call(bs_outparse *p, const bs_outparse_sink *sink, boson_error *err)
{
    if (err)
        bs_error_clear(err);
    if (p->mode == M_DONE)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "output parser: already finished");
    if (p->st != BOSON_OK)
        return bs_error_set(err, p->st, "output parser: stopped by an earlier failure");
    p->sink = sink;
    p->err = err;
    return BOSON_OK;
}

boson_status bs_outparse_feed(bs_outparse *p, const char *text, size_t len,
                              const bs_outparse_sink *sink, boson_error *err)
{
    if (!p || (!text && len))
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "output parser: NULL argument");
    boson_status st = begin_call(p, sink, err);
    if (st != BOSON_OK)
        return st;
    run(p, (const unsigned char *)text, len);
    flush(p);
    p->sink = NULL;
    p->err = NULL;
    return p->st;
}

boson_status bs_outparse_finish(bs_outparse *p, const bs_outparse_sink *sink, boson_error *err)
{
    if (!p)
        return bs_error_set(err, BOSON_ERR_INVALID_ARG, "output parser: NULL argument");
    boson_status st = begin_call(p, sink, err);
    if (st != BOSON_OK)
        return st;
    switch (p->mode) {
    case M_CONTENT:
    case M_REASONING:
        if (p->n_ws)
            out_text(p, text_kind(p), p->ws, p->n_ws);
        if (p->n_tag)
            out_text(p, text_kind(p), p->tag, p->n_tag);
        p->n_ws = p->n_tag = 0;
        break;
    case M_TOOL: tool_as_content(p); break;
    case M_DONE: break;
    }
    flush(p);
    p->mode = M_DONE;
    p->sink = NULL;
    p->err = NULL;
    return p->st;
}

size_t bs_outparse_tool_call_count(const bs_outparse *p)
{
    return p ? p->n_calls : 0;
}

bs_outparse *bs_outparse_new(const bs_outparse_options *opt, boson_error *err)
{
    bs_outparse_options dflt = {0};
    if (!opt)
        opt = &dflt;
    switch (opt->tool_format) {
    case BS_TOOL_FORMAT_AUTO:
    case BS_TOOL_FORMAT_QWEN35_XML:
    case BS_TOOL_FORMAT_QWEN3_JSON:
    case BS_TOOL_FORMAT_NONE: break;
    default:
        bs_error_set(err, BOSON_ERR_INVALID_ARG, "output parser: unknown tool format %d",
                     (int)opt->tool_format);
        return NULL;
    }
    bs_outparse *p = calloc(1, sizeof *p);
    if (!p) {
        bs_error_set(err, BOSON_ERR_NOMEM, "output parser: out of memory");
        return NULL;
    }
    p->fmt = opt->tool_format;
    p->no_think = opt->no_think != 0;
    p->mode = opt->starts_in_think ? M_REASONING : M_CONTENT;
    p->leading = opt->starts_in_think != 0;
    p->think_allowed = !opt->starts_in_think;
    size_t mt =
        opt->max_tool_call_bytes ? opt->max_tool_call_bytes : BS_OUTPARSE_DEFAULT_MAX_TOOL_CALL;
    p->max_tool = mt > SIZE_MAX / 2 ? SIZE_MAX / 2 : mt + END_TOOL_LEN;
    const char *pre = opt->id_prefix ? opt->id_prefix : "call_";
    p->id_prefix = strdup(pre);
    if (!p->id_prefix) {
        free(p);
        bs_error_set(err, BOSON_ERR_NOMEM, "output parser: out of memory");
        return NULL;
    }
    p->tools = opt->tools;
    if (!p->tools && opt->tools_json) {
        json_error_t je;
        p->tools_owned = json_loadb(opt->tools_json, opt->tools_json_len, 0, &je);
        if (!json_is_array(p->tools_owned)) {
            if (p->tools_owned)
                bs_error_set(err, BOSON_ERR_INVALID_ARG,
                             "output parser: tools must be a JSON array (got %s)",
                             json_is_object(p->tools_owned) ? "an object" : "a scalar");
            else
                bs_error_set(err, BOSON_ERR_INVALID_ARG,
                             "output parser: tools JSON invalid at line %d, column %d: %s", je.line,
                             je.column, je.text);
            bs_outparse_free(p);
            return NULL;
        }
        p->tools = p->tools_owned;
    }
    return p;
}

void bs_outparse_free(bs_outparse *p)
{
    if (!p)
        return;
    json_decref(p->tools_owned);
    free(p->id_prefix);
    bs_bytes_free(&p->tool);
    bs_bytes_free(&p->stage);
    free(p);
}

/* ---- one-shot form ---- */

typedef struct collect {
    bs_bytes_buf content, reasoning;
    bs_tool_call *calls;
    size_t n, cap;
} collect;

static boson_status c_content(void *ctx, const char *t, size_t n)
{
    return bs_bytes_append(&((collect *)ctx)->content, t, n) ? BOSON_OK : BOSON_ERR_NOMEM;
}

static boson_status c_reasoning(void *ctx, const char *t, size_t n)
{
    return bs_bytes_append(&((collect *)ctx)->reasoning, t, n) ? BOSON_OK : BOSON_ERR_NOMEM;
}

static boson_status c_begin(void *ctx, size_t index, const char *id, const char *name)
{
    collect *c = ctx;
    (void)index;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        bs_tool_call *nn = realloc(c->calls, nc * sizeof *nn);
        if (!nn)
            return BOSON_ERR_NOMEM;
        c->calls = nn;
        c->cap = nc;
    }
    bs_tool_call *t = &c->calls[c->n];
    t->id = strdup(id);
    t->name = strdup(name);
    t->arguments = NULL;
    c->n++;
    return t->id && t->name ? BOSON_OK : BOSON_ERR_NOMEM;
}

static boson_status c_end(void *ctx, size_t index, const char *args)
{
    collect *c = ctx;
    (void)index;
    c->calls[c->n - 1].arguments = strdup(args);
    return c->calls[c->n - 1].arguments ? BOSON_OK : BOSON_ERR_NOMEM;
}

static char *take_string(bs_bytes_buf *b, size_t *len)
{
    *len = b->n;
    if (!bs_bytes_append(b, "", 1))
        return NULL;
    char *s = (char *)b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return s;
}

boson_status bs_outparse_all(const char *text, size_t len, const bs_outparse_options *opt,
                             bs_outparse_result *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    bs_outparse *p = bs_outparse_new(opt, err);
    if (!p)
        return err ? err->status : BOSON_ERR_INVALID_ARG;
    collect c = {0};
    bs_outparse_sink sink = {&c, c_content, c_reasoning, c_begin, NULL, c_end};
    boson_status st = bs_outparse_feed(p, text, len, &sink, err);
    if (st == BOSON_OK)
        st = bs_outparse_finish(p, &sink, err);
    bs_outparse_free(p);
    out->tool_calls = c.calls;
    out->n_tool_calls = c.n;
    if (st == BOSON_OK) {
        out->content = take_string(&c.content, &out->content_len);
        out->reasoning = take_string(&c.reasoning, &out->reasoning_len);
        if (!out->content || !out->reasoning)
            st = bs_error_set(err, BOSON_ERR_NOMEM, "output parser: out of memory");
    }
    bs_bytes_free(&c.content);
    bs_bytes_free(&c.reasoning);
    if (st != BOSON_OK)
        bs_outparse_result_free(out);
    return st;
}

void bs_outparse_result_free(bs_outparse_result *r)
{
    free(r->content);
    free(r->reasoning);
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        free(r->tool_calls[i].id);
        free(r->tool_calls[i].name);
        free(r->tool_calls[i].arguments);
    }
    free(r->tool_calls);
    memset(r, 0, sizeof *r);
}
