/* sigma.h - Sigma detection rules (https://sigmahq.io) as rules of the
 * engine: a Sigma document is translated into a rule whose condition is the
 * engine's own (docs/sigma.md), so evaluation, the eventName index, the
 * prefilter, rendering and every limit are those of Falco rules. */
#ifndef CTR_SIGMA_H
#define CTR_SIGMA_H

#include "merge.h"

/* Whether a YAML document is meant as a Sigma document (a mapping with
 * `detection`, `logsource`, `correlation`, `filter` or `action`), rather
 * than a Falco rules file (a sequence). */
bool ctr__sigma_is_doc(const ctr__ynode *doc);

/* Translates one Sigma document into a rule of defs, named by its title.
 * The document is borrowed and must outlive defs (positions point into it).
 * CTR_OK; CTR_ESYNTAX after a positioned error diagnostic (nothing of the
 * document was added); CTR_ENOMEM. */
int ctr__sigma_merge(ctr__defs *defs, ctr__diags *diags, const ctr__ynode *doc);

#endif
