/*
 * classify_mime.c: the message as libetpan sees it. libetpan recurses
 * once per nested "(" in a header and once per nested MIME part, without
 * a limit, so a guard scans the bytes first and refuses what could run
 * it out of stack; the walks over the parsed tree are bounded too.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/limits.h"

/* What the guard counts on its way through the bytes. */
struct guard {
	size_t comments;   /* "(" open on this logical line */
	int content_type;  /* "content-type" seen on this logical line */
	int composite;     /* and "multipart" or "message" after it */
	size_t composites; /* logical lines that may open a MIME level */
	int in_header;     /* still in the top-level header */
	size_t fields;     /* its logical lines */
	size_t dashes;     /* lines starting with "--": boundaries, maybe */
};

static int at_ci(const char *data, size_t len, size_t i, const char *word)
{
	size_t n = strlen(word);
	return len - i >= n && strncasecmp(data + i, word, n) == 0;
}

/* At data[i] == '\n'. A line ends a logical line unless the next one
 * starts with a blank (folding); neither a comment nor a header field
 * runs past it. */
static void guard_newline(struct guard *g, const char *data, size_t len, size_t i)
{
	const char *next = data + i + 1;
	size_t left = len - i - 1;
	if (left > 0 && (next[0] == ' ' || next[0] == '\t'))
		return;
	if (g->composite)
		g->composites++;
	g->comments = 0;
	g->content_type = g->composite = 0;
	if (g->in_header) {
		g->fields++;
		if (left == 0 || next[0] == '\n' ||
		    (left > 1 && next[0] == '\r' && next[1] == '\n'))
			g->in_header = 0;
	}
	if (left >= 2 && next[0] == '-' && next[1] == '-')
		g->dashes++;
}

/*
 * Every level libetpan nests needs a Content-Type field naming multipart
 * or message (a part of a multipart/digest adds one more without one), so
 * counting such lines bounds the depth of its recursion. Nested comments
 * are counted as written, backslash escapes skipped. libetpan also spends
 * some 150 bytes on every header field and MIME part, so their number is
 * bounded too.
 */
const char *cls_guard(const char *data, size_t len, int *headers_ok)
{
	struct guard g = {.in_header = 1};
	*headers_ok = 1;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (c == '\\') {
			i++;
		} else if (c == '(') {
			if (++g.comments > CLS_MAX_COMMENT_DEPTH) {
				*headers_ok = 0;
				return "header comments nested too deeply";
			}
		} else if (c == ')') {
			if (g.comments > 0)
				g.comments--;
		} else if (c == '\n') {
			guard_newline(&g, data, len, i);
		} else if ((c == 'c' || c == 'C') && at_ci(data, len, i, "content-type")) {
			g.content_type = 1;
		} else if ((c == 'm' || c == 'M') && g.content_type &&
			   (at_ci(data, len, i, "multipart") || at_ci(data, len, i, "message"))) {
			g.composite = 1;
		}
	}
	if (g.composite)
		g.composites++;
	if (g.fields > CLS_MAX_FIELDS) {
		*headers_ok = 0;
		return "too many header fields";
	}
	if (g.composites > CLS_MAX_COMPOSITE)
		return "MIME parts nested too deeply";
	if (g.dashes > CLS_MAX_BOUNDARIES)
		return "too many MIME parts";
	return NULL;
}

/* Only the header, for a message whose MIME structure is not parsed. */
static int parse_header_only(struct cls_msg *m)
{
	size_t idx = 0;
	int r = mailimf_envelope_and_optional_fields_parse(m->buf, m->len, &idx, &m->own_fields);
	if (r == MAILIMF_ERROR_MEMORY)
		return -1;
	if (r != MAILIMF_NO_ERROR)
		m->own_fields = NULL;
	m->fields = m->own_fields;
	mailimf_crlf_parse(m->buf, m->len, &idx);
	m->raw_body = m->buf + idx;
	m->raw_body_len = m->len - idx;
	return 0;
}

static int parse_mime(struct cls_msg *m)
{
	size_t idx = 0;
	struct mailmime *mime = NULL;
	int r = mailmime_parse(m->buf, m->len, &idx, &mime);
	if (r == MAILIMF_ERROR_MEMORY)
		return -1;
	if (r != MAILIMF_NO_ERROR || mime == NULL)
		return 0;
	m->mime = mime;
	if (mime->mm_type != MAILMIME_MESSAGE)
		return 0;
	m->fields = mime->mm_data.mm_message.mm_fields;
	m->body = mime->mm_data.mm_message.mm_msg_mime;
	if (m->body != NULL && m->body->mm_body != NULL &&
	    m->body->mm_body->dt_type == MAILMIME_DATA_TEXT) {
		m->raw_body = m->body->mm_body->dt_data.dt_text.dt_data;
		m->raw_body_len = m->body->mm_body->dt_data.dt_text.dt_length;
	}
	return 0;
}

int cls_msg_open(struct cls_msg *m, const char *data, size_t len)
{
	int headers_ok;
	memset(m, 0, sizeof(*m));
	if (data == NULL)
		len = 0;
	if (len > MAX_MAIL_SIZE) /* what is past the limit is not read */
		len = MAX_MAIL_SIZE;
	/* A copy ending in NUL: no parser can read past the end. A last line
	 * without its line end gets one, or libetpan drops it when it is a
	 * header field. */
	if ((m->buf = malloc(len + 2)) == NULL)
		return -1;
	if (len > 0)
		memcpy(m->buf, data, len);
	if (len > 0 && m->buf[len - 1] != '\n')
		m->buf[len++] = '\n';
	m->buf[len] = '\0';
	m->len = len;
	m->refused = cls_guard(m->buf, len, &headers_ok);
	if (m->refused == NULL && parse_mime(m) < 0)
		return -1;
	if (m->fields == NULL && m->raw_body == NULL && headers_ok)
		return parse_header_only(m);
	return 0;
}

void cls_msg_close(struct cls_msg *m)
{
	if (m->mime != NULL)
		mailmime_free(m->mime);
	if (m->own_fields != NULL)
		mailimf_fields_free(m->own_fields);
	free(m->text);
	if (m->scan != m->text)
		free(m->scan);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

const char *cls_field(const struct mailimf_fields *f, const char *name, int n)
{
	if (f == NULL || f->fld_list == NULL)
		return NULL;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);
		const struct mailimf_optional_field *opt;
		if (fld->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
			continue;
		opt = fld->fld_data.fld_optional_field;
		if (opt == NULL || opt->fld_name == NULL || opt->fld_value == NULL ||
		    strcasecmp(opt->fld_name, name) != 0)
			continue;
		if (n-- == 0)
			return opt->fld_value;
	}
	return NULL;
}

struct strbuf {
	char *s;
	size_t len, size;
};

static int strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->size) {
		size_t size = (b->len + n + 1) * 2;
		char *grown = realloc(b->s, size);
		if (grown == NULL)
			return -1;
		b->s = grown;
		b->size = size;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/*
 * libetpan stops at a word it cannot read ("x=?broken"); that word is
 * kept as written and decoding goes on after it.
 */
char *cls_decode_words(const char *raw)
{
	struct strbuf b = {NULL, 0, 0};
	size_t idx = 0, len = strlen(raw);
	if (strbuf_add(&b, "", 0) < 0)
		return NULL;
	while (idx < len) {
		char *out = NULL;
		size_t end;
		int blank = idx > 0 && isspace((unsigned char)raw[idx]);
		int r = mailmime_encoded_phrase_parse("utf-8", raw, len, &idx, "utf-8", &out);
		if (r == MAILIMF_ERROR_MEMORY)
			goto fail;
		if (r == MAILIMF_NO_ERROR && out != NULL && out[0] != '\0' &&
		    ((blank && b.len > 0 && strbuf_add(&b, " ", 1) < 0) ||
		     strbuf_add(&b, out, strlen(out)) < 0)) {
			free(out);
			goto fail;
		}
		free(out);
		for (end = idx; end < len && !isspace((unsigned char)raw[end]); end++)
			;
		if (end == idx && idx < len)
			end++;
		if (strbuf_add(&b, raw + idx, end - idx) < 0)
			goto fail;
		idx = end;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

static const char *type_name(const struct mailmime_type *t)
{
	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type != NULL) {
		switch (t->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			return "text";
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			return "image";
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			return "audio";
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			return "video";
		case MAILMIME_DISCRETE_TYPE_APPLICATION:
			return "application";
		default:
			return t->tp_data.tp_discrete_type->dt_extension;
		}
	}
	if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type != NULL) {
		switch (t->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			return "message";
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			return "multipart";
		default:
			return t->tp_data.tp_composite_type->ct_token;
		}
	}
	return NULL;
}

int cls_is_type(const struct mailmime *p, const char *type, const char *subtype)
{
	const struct mailmime_content *ct = p->mm_content_type;
	const char *name;
	if (ct == NULL || ct->ct_type == NULL || (name = type_name(ct->ct_type)) == NULL)
		return 0;
	if (strcasecmp(name, type) != 0)
		return 0;
	return subtype == NULL ||
	       (ct->ct_subtype != NULL && strcasecmp(ct->ct_subtype, subtype) == 0);
}

const char *cls_param(const struct mailmime *p, const char *name)
{
	const struct mailmime_content *ct = p->mm_content_type;
	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	for (clistiter *it = clist_begin(ct->ct_parameters); it != NULL; it = clist_next(it)) {
		const struct mailmime_parameter *pa = clist_content(it);
		if (pa->pa_name != NULL && pa->pa_value != NULL &&
		    strcasecmp(pa->pa_name, name) == 0)
			return pa->pa_value;
	}
	return NULL;
}

char *cls_part_bytes(struct cls_msg *m, const struct mailmime *p, size_t max, size_t *len_r)
{
	const struct mailmime_data *d;
	size_t idx = 0, out_len = 0, n;
	char *out = NULL, *copy;
	int r, enc;
	*len_r = 0;
	if (p->mm_type != MAILMIME_SINGLE || (d = p->mm_data.mm_single) == NULL ||
	    d->dt_type != MAILMIME_DATA_TEXT || d->dt_data.dt_text.dt_data == NULL)
		return NULL;
	enc = d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT;
	r = mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length, &idx,
				enc, &out, &out_len);
	if (r == MAILIMF_ERROR_MEMORY) {
		m->oom = 1;
		return NULL;
	}
	const char *src = r == MAILIMF_NO_ERROR ? out : d->dt_data.dt_text.dt_data;
	n = r == MAILIMF_NO_ERROR ? out_len : d->dt_data.dt_text.dt_length;
	if (n > max)
		n = max;
	if ((copy = malloc(n + 1)) == NULL)
		m->oom = 1;
	else {
		memcpy(copy, src, n);
		copy[n] = '\0';
		*len_r = n;
	}
	if (r == MAILIMF_NO_ERROR)
		mmap_string_unref(out);
	return copy;
}

/* Charsets read as UTF-8: ASCII is a subset, and unlabelled 8-bit text
 * is UTF-8 more often than anything else. */
static int utf8_like(const char *cs)
{
	static const char *const names[] = {"utf-8", "utf8", "us-ascii", "ascii",
					    "unknown-8bit", "x-unknown", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(cs, names[i]) == 0)
			return 1;
	return 0;
}

/* A charset name as the registry spells them; anything else (say a
 * "//" suffix iconv would take for options) is not handed to iconv. */
static int charset_name_ok(const char *cs)
{
	size_t n = 0;
	for (; cs[n] != '\0'; n++)
		if (!isalnum((unsigned char)cs[n]) && strchr("-_.:+", cs[n]) == NULL)
			return 0;
	return n > 0 && n <= 40;
}

char *cls_part_utf8(struct cls_msg *m, const struct mailmime *p)
{
	size_t len;
	char *bytes = cls_part_bytes(m, p, CLS_MAX_TEXT, &len), *text, *conv = NULL;
	const char *cs = cls_param(p, "charset");
	if (bytes == NULL)
		return NULL;
	if (cs == NULL || utf8_like(cs) || !charset_name_ok(cs)) {
		text = cls_clean_text(bytes, len);
	} else {
		/* An unknown charset or bytes it cannot hold: read as UTF-8. */
		int r = charconv("utf-8", cs, bytes, len, &conv);
		if (r == MAIL_CHARCONV_NO_ERROR && conv != NULL)
			text = cls_clean_text(conv, strlen(conv));
		else if (r == MAIL_CHARCONV_ERROR_MEMORY)
			text = NULL;
		else
			text = cls_clean_text(bytes, len);
		if (r == MAIL_CHARCONV_NO_ERROR)
			free(conv);
	}
	free(bytes);
	if (text == NULL)
		m->oom = 1;
	return text;
}

struct walk {
	struct cls_msg *m;
	cls_match_fn *match;
	void *arg;
	int into_messages;
	size_t visited;
};

static struct mailmime *walk(struct walk *w, struct mailmime *p, int depth)
{
	struct mailmime *found = NULL;
	if (p == NULL || w->visited >= CLS_MAX_PARTS)
		return NULL;
	if (depth > CLS_MAX_DEPTH) {
		w->m->too_deep = 1;
		return NULL;
	}
	w->visited++;
	if (w->match(p, w->arg))
		return p;
	if (p->mm_type == MAILMIME_MULTIPLE && p->mm_data.mm_multipart.mm_mp_list != NULL) {
		clistiter *it = clist_begin(p->mm_data.mm_multipart.mm_mp_list);
		for (; it != NULL && found == NULL; it = clist_next(it))
			found = walk(w, clist_content(it), depth + 1);
	} else if (p->mm_type == MAILMIME_MESSAGE && (depth == 0 || w->into_messages)) {
		found = walk(w, p->mm_data.mm_message.mm_msg_mime, depth + 1);
	}
	return found;
}

struct mailmime *cls_find(struct cls_msg *m, struct mailmime *root, cls_match_fn *match,
			  void *arg, int into_messages)
{
	struct walk w = {m, match, arg, into_messages, 0};
	return walk(&w, root, 0);
}

int cls_is_attachment(const struct mailmime *p)
{
	const struct mailmime_fields *f = p->mm_mime_fields;
	if (f == NULL || f->fld_list == NULL)
		return 0;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailmime_field *fld = clist_content(it);
		if (fld->fld_type == MAILMIME_FIELD_DISPOSITION &&
		    fld->fld_data.fld_disposition != NULL &&
		    fld->fld_data.fld_disposition->dsp_type != NULL &&
		    fld->fld_data.fld_disposition->dsp_type->dsp_type ==
			MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			return 1;
	}
	return 0;
}

int cls_fields_msgid(const struct mailimf_fields *f, char *dst, size_t size)
{
	if (f == NULL || f->fld_list == NULL)
		return 0;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);
		const char *v = NULL;
		if (fld->fld_type == MAILIMF_FIELD_MESSAGE_ID &&
		    fld->fld_data.fld_message_id != NULL)
			v = fld->fld_data.fld_message_id->mid_value;
		else if (fld->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD &&
			 fld->fld_data.fld_optional_field != NULL &&
			 fld->fld_data.fld_optional_field->fld_name != NULL &&
			 strcasecmp(fld->fld_data.fld_optional_field->fld_name, "Message-ID") == 0)
			v = fld->fld_data.fld_optional_field->fld_value;
		if (v != NULL && cls_msgid(dst, size, v, strlen(v)))
			return 1;
	}
	return 0;
}
