/* xml.h - AWS XML answers (S3) read with libexpat into a small read-only element tree.
 *
 * The tree keeps, per element, its name as written (no namespace processing: S3's
 * xmlns="http://s3.amazonaws.com/doc/2006-03-01/" leaves names as they are) and its own
 * character data with entities and character references decoded by expat. Absent and
 * empty are different answers: cl_xml_child_text returns NULL for a missing element and
 * "" for <Key></Key> or <Key/>, so callers never see a NULL where text was present.
 * Documents with a DOCTYPE are refused (no entity expansion at all), as are documents
 * deeper or larger than the limits below.
 */
#ifndef CL_XML_H
#define CL_XML_H

#include "buf.h"

#include <stddef.h>

/* Limits on one document: S3's answers nest 3 levels and a ListObjectsV2 page of 1,000
 * keys has ~10,000 elements; a key is at most 1,024 bytes, a token a few hundred. */
#define CL_XML_MAX_DEPTH 32
#define CL_XML_MAX_ELEMENTS 200000
#define CL_XML_MAX_TEXT (64 * 1024)

struct cl_xml {
    char *name;           /* owned */
    struct cl_buf text;   /* owned; the element's own character data, decoded */
    struct cl_xml *first; /* owned children, in document order */
    struct cl_xml *last;
    struct cl_xml *next; /* owned by the parent's list */
    struct cl_xml *parent;
};

/* Parses data[0..len) as one XML document. Returns its root element, or NULL with err set
 * when the document is malformed, has a DOCTYPE or exceeds a limit. Caller frees with
 * cl_xml_free. */
struct cl_xml *cl_xml_parse(const char *data, size_t len, char *err, size_t err_len);
void cl_xml_free(struct cl_xml *root);

/* First child of parent named name, or NULL (parent may be NULL). */
const struct cl_xml *cl_xml_child(const struct cl_xml *parent, const char *name);
/* The next sibling of n with the same name, or NULL. */
const struct cl_xml *cl_xml_next(const struct cl_xml *n);
/* n's text: "" when empty, never NULL for an element (NULL only when n is NULL). */
const char *cl_xml_text(const struct cl_xml *n);
/* The text of parent's first child called name ("" when empty), or NULL if there is none. */
const char *cl_xml_child_text(const struct cl_xml *parent, const char *name);

#endif
