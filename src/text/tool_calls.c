/* Tool-call bodies (XML and JSON forms) -> name + compact JSON arguments (see tool_calls.h). */
#include "text/tool_calls.h"

#include "base/error.h"
#include "text/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    T_STRING = 1,
    T_INTEGER = 2,
    T_NUMBER = 4,
    T_BOOLEAN = 8,
    T_NULL = 16,
    T_OBJECT = 32,
    T_ARRAY = 64,
};

#define SCHEMA_MAX_DEPTH 8

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static unsigned type_bit(const char *t)
{
    if (strcmp(t, "string") == 0)
        return T_STRING;
    if (strcmp(t, "integer") == 0)
        return T_INTEGER;
    if (strcmp(t, "number") == 0)
        return T_NUMBER;
    if (strcmp(t, "boolean") == 0)
        return T_BOOLEAN;
    if (strcmp(t, "null") == 0)
        return T_NULL;
    if (strcmp(t, "object") == 0)
        return T_OBJECT;
    if (strcmp(t, "array") == 0)
        return T_ARRAY;
    return 0;
}

static unsigned schema_types(const json_t *schema, int depth)
{
    if (!json_is_object(schema) || depth > SCHEMA_MAX_DEPTH)
        return 0;
    unsigned mask = 0;
    const json_t *t = json_object_get(schema, "type");
    if (json_is_string(t)) {
        mask |= type_bit(json_string_value(t));
    } else if (json_is_array(t)) {
        size_t i;
        const json_t *e;
        json_array_foreach(t, i, e)
        {
            if (json_is_string(e))
                mask |= type_bit(json_string_value(e));
        }
    }
    static const char *const unions[] = {"anyOf", "oneOf"};
    for (size_t u = 0; u < 2; u++) {
        const json_t *alts = json_object_get(schema, unions[u]);
        size_t i;
        const json_t *e;
        if (json_is_array(alts))
            json_array_foreach(alts, i, e) mask |= schema_types(e, depth + 1);
    }
    return mask;
}

const json_t *bs_tool_param_schema(const json_t *tools, const char *fn, const char *param)
{
    if (!json_is_array(tools))
        return NULL;
    size_t i;
    const json_t *tool;
    json_array_foreach(tools, i, tool)
    {
        const json_t *f = json_object_get(tool, "function");
        if (!json_is_object(f))
            f = tool;
        const json_t *name = json_object_get(f, "name");
        if (!json_is_string(name) || strcmp(json_string_value(name), fn) != 0)
            continue;
        const json_t *props = json_object_get(json_object_get(f, "parameters"), "properties");
        const json_t *s = json_object_get(props, param);
        return json_is_object(s) ? s : NULL;
    }
    return NULL;
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

int bs_tool_param_coerce(const json_t *schema, const char *value, size_t len, bs_bytes_buf *out)
{
    if (!schema)
        return bs_json_write_string(out, value, len);
    unsigned mask = schema_types(schema, 0);
    const char *t = value;
    size_t tn = len;
    while (tn && is_ws((unsigned char)t[0]))
        t++, tn--;
    while (tn && is_ws((unsigned char)t[tn - 1]))
        tn--;
    if (mask == 0) {
        mask = T_OBJECT | T_ARRAY | T_STRING;
    } else if (mask == T_STRING) {
        return bs_json_write_string(out, value, len);
    }
    if ((mask & T_NULL || !(mask & T_STRING)) && (word_is(t, tn, "null") || word_is(t, tn, "none")))
        return bs_bytes_append(out, "null", 4);
    if (mask & T_BOOLEAN) {
        if (word_is(t, tn, "true"))
            return bs_bytes_append(out, "true", 4);
        if (word_is(t, tn, "false"))
            return bs_bytes_append(out, "false", 5);
    }
    if (mask & (T_INTEGER | T_NUMBER | T_OBJECT | T_ARRAY)) {
        size_t keep = out->n;
        bs_jkind k;
        bs_jscan r = bs_json_compact(t, tn, out, &k);
        if (r == BS_JSCAN_NOMEM)
            return 0;
        if (r == BS_JSCAN_OK) {
            if ((k == BS_JK_NUMBER && mask & (T_INTEGER | T_NUMBER)) ||
                (k == BS_JK_OBJECT && mask & T_OBJECT) || (k == BS_JK_ARRAY && mask & T_ARRAY))
                return 1;
            out->n = keep;
        }
    }
    return bs_json_write_string(out, value, len);
}

/* A function or parameter name: trimmed of ASCII whitespace, non-empty, valid UTF-8 without
 * control characters, whitespace or angle brackets. */
static int clean_name(const char *s, size_t n, const char **o, size_t *on)
{
    while (n && is_ws((unsigned char)s[0]))
        s++, n--;
    while (n && is_ws((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F || c == '<' || c == '>')
            return 0;
        size_t l = bs_json_utf8_seq((const unsigned char *)s + i, n - i);
        if (l == 0)
            return 0;
        i += l;
    }
    *o = s;
    *on = n;
    return 1;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static const char *find(const char *s, size_t n, size_t from, const char *needle)
{
    size_t nl = strlen(needle);
    if (from > n)
        return NULL;
    return memmem(s + from, n - from, needle, nl);
}

static size_t skip_ws(const char *s, size_t n, size_t pos)
{
    while (pos < n && is_ws((unsigned char)s[pos]))
        pos++;
    return pos;
}

typedef struct param_entry {
    size_t key_off, key_len, val_off, val_len;
} param_entry;

static int starts(const char *s, size_t n, size_t pos, const char *lit)
{
    size_t l = strlen(lit);
    return n - pos >= l && memcmp(s + pos, lit, l) == 0;
}

static boson_status parse_xml(const char *b, size_t n, const json_t *tools,
                              bs_tool_call_parsed *out, boson_error *err)
{
    boson_status st = BOSON_OK;
    bs_bytes_buf store = {0}, args = {0};
    param_entry *ents = NULL;
    size_t n_ents = 0, cap_ents = 0;
    char *name = NULL;

    size_t pos = skip_ws(b, n, 0);
    if (!starts(b, n, pos, "<function="))
        return bs_error_set(err, BOSON_ERR_FORMAT, "tool call: expected <function= at byte %zu",
                            pos);
    pos += strlen("<function=");
    const char *gt = find(b, n, pos, ">");
    const char *nm;
    size_t nml;
    if (!gt || !clean_name(b + pos, (size_t)(gt - (b + pos)), &nm, &nml))
        return bs_error_set(err, BOSON_ERR_FORMAT,
                            "tool call: missing or invalid function name at byte %zu", pos);
    name = dup_n(nm, nml);
    if (!name)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
    pos = (size_t)(gt - b) + 1;
    for (;;) {
        pos = skip_ws(b, n, pos);
        if (starts(b, n, pos, "</function>")) {
            pos += strlen("</function>");
            break;
        }
        if (!starts(b, n, pos, "<parameter=")) {
            st = bs_error_set(err, BOSON_ERR_FORMAT,
                              "tool call %s: expected <parameter= or </function> at byte %zu", name,
                              pos);
            goto done;
        }
        size_t kpos = pos + strlen("<parameter=");
        const char *kgt = find(b, n, kpos, ">");
        const char *key;
        size_t keyl;
        if (!kgt || !clean_name(b + kpos, (size_t)(kgt - (b + kpos)), &key, &keyl)) {
            st = bs_error_set(err, BOSON_ERR_FORMAT,
                              "tool call %s: missing or invalid parameter name at byte %zu", name,
                              kpos);
            goto done;
        }
        size_t vs = (size_t)(kgt - b) + 1;
        const char *vend = find(b, n, vs, "</parameter>");
        if (!vend) {
            st = bs_error_set(err, BOSON_ERR_FORMAT,
                              "tool call %s: parameter at byte %zu has no </parameter>", name, pos);
            goto done;
        }
        size_t ve = (size_t)(vend - b);
        pos = ve + strlen("</parameter>");
        if (vs < ve && b[vs] == '\n')
            vs++;
        if (vs < ve && b[ve - 1] == '\n')
            ve--;

        /* key text and value JSON go to the store; a repeated key keeps its last value */
        char *keyz = dup_n(key, keyl);
        if (!keyz) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
            goto done;
        }
        const json_t *schema = bs_tool_param_schema(tools, name, keyz);
        free(keyz);
        size_t val_off = store.n;
        if (!bs_tool_param_coerce(schema, b + vs, ve - vs, &store)) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
            goto done;
        }
        size_t val_len = store.n - val_off;
        size_t e;
        for (e = 0; e < n_ents; e++)
            if (ents[e].key_len == keyl && memcmp(b + ents[e].key_off, key, keyl) == 0)
                break;
        if (e == n_ents) {
            if (n_ents == cap_ents) {
                size_t nc = cap_ents ? cap_ents * 2 : 8;
                param_entry *ne = realloc(ents, nc * sizeof *ne);
                if (!ne) {
                    st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
                    goto done;
                }
                ents = ne;
                cap_ents = nc;
            }
            ents[n_ents].key_off = (size_t)(key - b);
            ents[n_ents].key_len = keyl;
            n_ents++;
        }
        ents[e].val_off = val_off;
        ents[e].val_len = val_len;
    }
    pos = skip_ws(b, n, pos);
    if (pos != n) {
        st = bs_error_set(err, BOSON_ERR_FORMAT, "tool call %s: text after </function> at byte %zu",
                          name, pos);
        goto done;
    }
    int ok = bs_bytes_append(&args, "{", 1);
    for (size_t e = 0; ok && e < n_ents; e++) {
        if (e)
            ok = bs_bytes_append(&args, ",", 1);
        ok = ok && bs_json_write_string(&args, b + ents[e].key_off, ents[e].key_len) &&
             bs_bytes_append(&args, ":", 1) &&
             bs_bytes_append(&args, store.p + ents[e].val_off, ents[e].val_len);
    }
    ok = ok && bs_bytes_append(&args, "}", 2); /* with the terminating NUL */
    if (!ok) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
        goto done;
    }
    out->name = name;
    out->arguments = (char *)args.p;
    out->arguments_len = args.n - 1;
    name = NULL;
    args.p = NULL;
done:
    free(name);
    free(ents);
    bs_bytes_free(&store);
    bs_bytes_free(&args);
    return st;
}

static boson_status parse_json(const char *b, size_t n, bs_tool_call_parsed *out, boson_error *err)
{
    int found;
    const char *v;
    size_t vl;
    bs_jkind k;
    bs_bytes_buf name = {0}, args = {0}, dec = {0};
    boson_status st = BOSON_OK;
    bs_jscan r = bs_json_object_member(b, n, "name", &found, &v, &vl, &k);
    if (r == BS_JSCAN_NOMEM)
        return bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
    if (r != BS_JSCAN_OK)
        return bs_error_set(err, BOSON_ERR_FORMAT, "tool call: body is not a valid JSON object");
    if (!found || k != BS_JK_STRING)
        return bs_error_set(err, BOSON_ERR_FORMAT, "tool call: no \"name\" string");
    if (!bs_json_decode_string(v, vl, &name) || !bs_bytes_append(&name, "", 1)) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
        goto done;
    }
    const char *nm;
    size_t nml;
    if (!clean_name((const char *)name.p, name.n - 1, &nm, &nml) || nml != name.n - 1) {
        st = bs_error_set(err, BOSON_ERR_FORMAT, "tool call: invalid function name");
        goto done;
    }
    r = bs_json_object_member(b, n, "arguments", &found, &v, &vl, &k);
    if (r == BS_JSCAN_NOMEM) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
        goto done;
    }
    if (!found) {
        v = "{}", vl = 2, k = BS_JK_OBJECT;
    } else if (k == BS_JK_STRING) { /* arguments given as a JSON string holding an object */
        if (!bs_json_decode_string(v, vl, &dec)) {
            st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
            goto done;
        }
        v = (const char *)dec.p, vl = dec.n;
        if (bs_json_compact(v, vl, NULL, &k) != BS_JSCAN_OK)
            k = BS_JK_INVALID;
    }
    if (k != BS_JK_OBJECT) {
        st = bs_error_set(err, BOSON_ERR_FORMAT, "tool call %s: \"arguments\" is not an object",
                          (const char *)name.p);
        goto done;
    }
    r = bs_json_compact(v, vl, &args, NULL);
    if (r != BS_JSCAN_OK || !bs_bytes_append(&args, "", 1)) {
        st = bs_error_set(err, BOSON_ERR_NOMEM, "tool call: out of memory");
        goto done;
    }
    out->name = (char *)name.p;
    out->arguments = (char *)args.p;
    out->arguments_len = args.n - 1;
    name.p = NULL;
    args.p = NULL;
done:
    bs_bytes_free(&name);
    bs_bytes_free(&args);
    bs_bytes_free(&dec);
    return st;
}

boson_status bs_tool_call_parse(const char *body, size_t len, bs_tool_format fmt,
                                const json_t *tools, bs_tool_call_parsed *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    size_t pos = skip_ws(body, len, 0);
    char first = pos < len ? body[pos] : '\0';
    switch (fmt) {
    case BS_TOOL_FORMAT_AUTO:
        if (first == '{')
            return parse_json(body, len, out, err);
        return parse_xml(body, len, tools, out, err);
    case BS_TOOL_FORMAT_QWEN35_XML: return parse_xml(body, len, tools, out, err);
    case BS_TOOL_FORMAT_QWEN3_JSON: return parse_json(body, len, out, err);
    case BS_TOOL_FORMAT_NONE: break;
    }
    return bs_error_set(err, BOSON_ERR_INVALID_ARG, "tool call: parsing is off (format none)");
}

void bs_tool_call_parsed_free(bs_tool_call_parsed *c)
{
    free(c->name);
    free(c->arguments);
    c->name = NULL;
    c->arguments = NULL;
    c->arguments_len = 0;
}
