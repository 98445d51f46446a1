/* xml.c - libexpat into the element tree of xml.h (what AWS's XML answers need). */
#include "xml.h"

#include "common.h"

#include <expat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parse in progress: the root, the open element, and the first failure. */
struct xml_parse {
    XML_Parser p;
    struct cl_xml *root; /* owned until handed to the caller */
    struct cl_xml *cur;  /* the innermost open element, NULL outside the root */
    int depth;
    long elements;
    const char *fail; /* why the handlers stopped the parser, NULL if they did not */
};

static void xml_stop(struct xml_parse *x, const char *why)
{
    if (!x->fail)
        x->fail = why;
    XML_StopParser(x->p, XML_FALSE);
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_parse *x = arg;
    if (x->depth >= CL_XML_MAX_DEPTH)
        return xml_stop(x, "elements nested too deep");
    if (++x->elements > CL_XML_MAX_ELEMENTS)
        return xml_stop(x, "too many elements");
    struct cl_xml *n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return xml_stop(x, "out of memory");
    }
    cl_buf_init(&n->text, CL_XML_MAX_TEXT);
    n->parent = x->cur;
    if (!x->cur)
        x->root = n; /* expat allows one root element only */
    else if (x->cur->last)
        x->cur->last->next = n;
    else
        x->cur->first = n;
    if (x->cur)
        x->cur->last = n;
    x->cur = n;
    x->depth++;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
    struct xml_parse *x = arg;
    if (x->fail) /* expat still reports the end of an <empty/> whose start was refused */
        return;
    x->cur = x->cur->parent;
    x->depth--;
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
    struct xml_parse *x = arg;
    if (!x->fail && x->cur && cl_buf_append(&x->cur->text, s, (size_t)len) != CL_OK)
        xml_stop(x, "element text too long");
}

/* No DOCTYPE, so no entity can be declared: only XML's five and character references. */
static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    xml_stop(arg, "a DOCTYPE is not allowed");
}

struct cl_xml *cl_xml_parse(const char *data, size_t len, char *err, size_t err_len)
{
    struct xml_parse x = {0};
    if (len > INT_MAX || !(x.p = XML_ParserCreate("UTF-8"))) {
        snprintf(err, err_len, "%s", len > INT_MAX ? "document too large" : "out of memory");
        return NULL;
    }
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
    int ok = XML_Parse(x.p, data ? data : "", (int)len, XML_TRUE) == XML_STATUS_OK;
    if (!ok)
        snprintf(err, err_len, "%s at line %lu, column %lu",
                 x.fail ? x.fail : XML_ErrorString(XML_GetErrorCode(x.p)),
                 (unsigned long)XML_GetCurrentLineNumber(x.p),
                 (unsigned long)XML_GetCurrentColumnNumber(x.p));
    XML_ParserFree(x.p);
    if (ok)
        return x.root;
    cl_xml_free(x.root);
    return NULL;
}

void cl_xml_free(struct cl_xml *root)
{
    /* Siblings in a loop, children by recursion (at most CL_XML_MAX_DEPTH deep). */
    while (root) {
        struct cl_xml *next = root->next;
        cl_xml_free(root->first);
        cl_buf_free(&root->text);
        free(root->name);
        free(root);
        root = next;
    }
}

const struct cl_xml *cl_xml_child(const struct cl_xml *parent, const char *name)
{
    for (const struct cl_xml *c = parent ? parent->first : NULL; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const struct cl_xml *cl_xml_next(const struct cl_xml *n)
{
    for (const struct cl_xml *c = n->next; c; c = c->next)
        if (strcmp(c->name, n->name) == 0)
            return c;
    return NULL;
}

const char *cl_xml_text(const struct cl_xml *n)
{
    return !n ? NULL : n->text.data ? n->text.data : "";
}

const char *cl_xml_child_text(const struct cl_xml *parent, const char *name)
{
    return cl_xml_text(cl_xml_child(parent, name));
}
