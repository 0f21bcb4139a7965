/*
 * engine.h - every internal header of the rules side, for files that have
 * not yet moved to the one header of the stage they use. New code includes
 * the stage's header (diag.h, load.h, merge.h, parse.h, compile.h,
 * prefilter.h, eval.h, render.h) instead.
 */
#ifndef CTR_ENGINE_H
#define CTR_ENGINE_H

#include "diag.h"
#include "load.h"
#include "merge.h"
#include "parse.h"
#include "compile.h"
#include "prefilter.h"
#include "eval.h"
#include "render.h"

#endif
