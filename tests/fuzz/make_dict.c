/* make_dict.c - writes the libFuzzer dictionary of the condition grammar:
 * every field the library knows (from the public field registry, so the
 * dictionary never goes stale), the operators, transformers and keywords,
 * and names the fuzz_condition target's wrapper defines. */
#include <ctrule.h>

#include <stdio.h>
#include <string.h>

static void entry(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else
      fputc(*s, f);
  }
  fputs("\"\n", f);
}

int main(int argc, char **argv)
{
  static const char *const words[] = {
    /* operators and keywords of the condition grammar */
    "=", "!=", "<", "<=", ">", ">=", " contains ", " icontains ", " bcontains ", " startswith ",
    " bstartswith ", " endswith ", " glob ", " iglob ", " regex ", " in ", " intersects ", " pmatch ",
    " exists", " and ", " or ", "not ", "(", ")", ",", "[", "]", "\"", "'", "anyof(", "allof(", "oneof(",
    " oneof ", " anyof ", " allof ", "\\'", "\\\\",
    /* transformers */
    "tolower(", "toupper(", "b64(", "basename(", "len(", "val(", "join(", "concat(", "getopt(",
    /* values and names the wrapper defines */
    "fuzz_ports", "fuzz_names", "fuzz_rds", "fuzz_macro", "ModifyDBCluster", "ConsoleLogin",
    "rds.amazonaws.com", "us-east-1", "/requestParameters", "/userIdentity/type", "0x1f", "true", "5432"};
  FILE *f = argc > 1 ? fopen(argv[1], "w") : stdout;
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    entry(f, words[i]);
  for (size_t i = 0; i < ctr_field_count(); i++) {
    const char *name = ctr_field_name(i);
    char with_arg[256];
    entry(f, name);
    /* An output template names fields as %field. */
    snprintf(with_arg, sizeof with_arg, "%%%s", name);
    entry(f, with_arg);
  }
  return fclose(f) == 0 ? 0 : 1;
}
