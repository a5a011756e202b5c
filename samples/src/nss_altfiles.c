/*
 * A small NSS module reading users and groups from /usr/lib/passwd and /usr/lib/group, so an
 * image-based OS can keep its system accounts in the read-only /usr. Stands in for
 * nss-altfiles (not packaged in Debian 12). Enable with "passwd: files altfiles" in
 * /etc/nsswitch.conf. Lookups by name and id, and enumeration, for passwd and group.
 */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#define PASSWD_FILE "/usr/lib/passwd"
#define GROUP_FILE "/usr/lib/group"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *pwf, *grf;

/* One step of fgetpwent_r / fgetgrent_r mapped to NSS status codes. */
#define NEXT(fn, f, res, buf, len, errnop)                                    \
  do {                                                                        \
    void *out_;                                                               \
    int r_ = fn((f), (res), (buf), (len), (void *)&out_);                     \
    if (r_ == 0) return NSS_STATUS_SUCCESS;                                   \
    if (r_ == ERANGE) { *(errnop) = ERANGE; return NSS_STATUS_TRYAGAIN; }     \
    return NSS_STATUS_NOTFOUND;                                               \
  } while (0)

static enum nss_status pw_next(FILE *f, struct passwd *p, char *b, size_t n, int *e) { NEXT(fgetpwent_r, f, p, b, n, e); }
static enum nss_status gr_next(FILE *f, struct group *g, char *b, size_t n, int *e) { NEXT(fgetgrent_r, f, g, b, n, e); }

enum nss_status _nss_altfiles_getpwnam_r(const char *name, struct passwd *p, char *b, size_t n, int *e) {
  FILE *f = fopen(PASSWD_FILE, "re");
  enum nss_status s;
  if (!f) return NSS_STATUS_UNAVAIL;
  while ((s = pw_next(f, p, b, n, e)) == NSS_STATUS_SUCCESS && strcmp(p->pw_name, name) != 0) {}
  fclose(f);
  return s;
}

enum nss_status _nss_altfiles_getpwuid_r(uid_t uid, struct passwd *p, char *b, size_t n, int *e) {
  FILE *f = fopen(PASSWD_FILE, "re");
  enum nss_status s;
  if (!f) return NSS_STATUS_UNAVAIL;
  while ((s = pw_next(f, p, b, n, e)) == NSS_STATUS_SUCCESS && p->pw_uid != uid) {}
  fclose(f);
  return s;
}

enum nss_status _nss_altfiles_getgrnam_r(const char *name, struct group *g, char *b, size_t n, int *e) {
  FILE *f = fopen(GROUP_FILE, "re");
  enum nss_status s;
  if (!f) return NSS_STATUS_UNAVAIL;
  while ((s = gr_next(f, g, b, n, e)) == NSS_STATUS_SUCCESS && strcmp(g->gr_name, name) != 0) {}
  fclose(f);
  return s;
}

enum nss_status _nss_altfiles_getgrgid_r(gid_t gid, struct group *g, char *b, size_t n, int *e) {
  FILE *f = fopen(GROUP_FILE, "re");
  enum nss_status s;
  if (!f) return NSS_STATUS_UNAVAIL;
  while ((s = gr_next(f, g, b, n, e)) == NSS_STATUS_SUCCESS && g->gr_gid != gid) {}
  fclose(f);
  return s;
}

enum nss_status _nss_altfiles_setpwent(int stayopen) {
  (void)stayopen;
  pthread_mutex_lock(&lock);
  if (pwf) rewind(pwf); else pwf = fopen(PASSWD_FILE, "re");
  pthread_mutex_unlock(&lock);
  return pwf ? NSS_STATUS_SUCCESS : NSS_STATUS_UNAVAIL;
}

enum nss_status _nss_altfiles_endpwent(void) {
  pthread_mutex_lock(&lock);
  if (pwf) fclose(pwf);
  pwf = NULL;
  pthread_mutex_unlock(&lock);
  return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_altfiles_getpwent_r(struct passwd *p, char *b, size_t n, int *e) {
  enum nss_status s = NSS_STATUS_UNAVAIL;
  pthread_mutex_lock(&lock);
  if (!pwf) pwf = fopen(PASSWD_FILE, "re");
  if (pwf) s = pw_next(pwf, p, b, n, e);
  pthread_mutex_unlock(&lock);
  return s;
}

enum nss_status _nss_altfiles_setgrent(int stayopen) {
  (void)stayopen;
  pthread_mutex_lock(&lock);
  if (grf) rewind(grf); else grf = fopen(GROUP_FILE, "re");
  pthread_mutex_unlock(&lock);
  return grf ? NSS_STATUS_SUCCESS : NSS_STATUS_UNAVAIL;
}

enum nss_status _nss_altfiles_endgrent(void) {
  pthread_mutex_lock(&lock);
  if (grf) fclose(grf);
  grf = NULL;
  pthread_mutex_unlock(&lock);
  return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_altfiles_getgrent_r(struct group *g, char *b, size_t n, int *e) {
  enum nss_status s = NSS_STATUS_UNAVAIL;
  pthread_mutex_lock(&lock);
  if (!grf) grf = fopen(GROUP_FILE, "re");
  if (grf) s = gr_next(grf, g, b, n, e);
  pthread_mutex_unlock(&lock);
  return s;
}
