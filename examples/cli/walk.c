/* walk.c - turns PATH arguments into the list of inputs to scan. A
 * directory is walked recursively in name order; symbolic links are followed
 * but a directory already being walked is not entered again (no loops). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const recognised[] = {".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz"};

bool input_name_recognised(const char *name)
{
  for (size_t i = 0; i < sizeof recognised / sizeof recognised[0]; i++)
    if (str_ends_with(name, recognised[i]))
      return true;
  return false;
}

static void push(inputs *in, const char *path, const char *display)
{
  if (in->n == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 16;
    in->v = xrealloc(in->v, in->cap * sizeof *in->v);
  }
  in->v[in->n].path = xstrdup(path);
  in->v[in->n].display = xstrdup(display);
  in->n++;
}

typedef struct visit {
  dev_t dev;
  ino_t ino;
  const struct visit *up;
} visit;

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(inputs *in, const char *dir, const visit *up)
{
  DIR *d = opendir(dir);
  if (!d) {
    errorf("%s: cannot read directory: %s", dir, strerror(errno));
    in->errors++;
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') /* ".", ".." and hidden entries */
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[n++] = xstrdup(e->d_name);
  }
  if (errno != 0) {
    errorf("%s: error while reading directory: %s", dir, strerror(errno));
    in->errors++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);

  size_t dlen = strlen(dir);
  bool slash = dlen > 0 && dir[dlen - 1] == '/';
  for (size_t i = 0; i < n; i++) {
    buf p = {0};
    buf_adds(&p, dir);
    if (!slash)
      buf_addc(&p, '/');
    buf_adds(&p, names[i]);
    const char *path = buf_str(&p);
    struct stat st;
    if (stat(path, &st) != 0) {
      errorf("%s: %s", path, strerror(errno));
      in->errors++;
    } else if (S_ISDIR(st.st_mode)) {
      bool loop = false;
      for (const visit *v = up; v; v = v->up)
        loop |= v->dev == st.st_dev && v->ino == st.st_ino;
      if (!loop) {
        visit here = {st.st_dev, st.st_ino, up};
        walk_dir(in, path, &here);
      }
    } else if (S_ISREG(st.st_mode) && input_name_recognised(names[i])) {
      push(in, path, path);
    } else {
      in->skipped_files++;
    }
    buf_free(&p);
    free(names[i]);
  }
  free(names);
}

void inputs_add_path(inputs *in, const char *path)
{
  if (strcmp(path, "-") == 0) {
    push(in, "-", "<stdin>");
    return;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    errorf("%s: %s", path, strerror(errno));
    in->errors++;
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    visit top = {st.st_dev, st.st_ino, NULL};
    walk_dir(in, path, &top);
  } else {
    /* A file named on the command line is scanned whatever its name. */
    push(in, path, path);
  }
}

void inputs_free(inputs *in)
{
  for (size_t i = 0; i < in->n; i++) {
    free(in->v[i].path);
    free(in->v[i].display);
  }
  free(in->v);
  memset(in, 0, sizeof *in);
}
