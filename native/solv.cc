// Thin N-API binding over libsolv/libsolvext: a pool with repos, an installed set, jobs,
// and raw results (transaction steps, problem rules, solution elements) by solvable id.
// Everything that interprets these results lives in src/solver/*.ts.
#include <napi.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_rpmmd.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/solver.h>
#include <solv/problems.h>
#include <solv/rules.h>
#include <solv/selection.h>
#include <solv/solv_xfopen.h>
#include <solv/transaction.h>
#include <solv/evr.h>
#include <solv/repodata.h>
#include <solv/pool_parserpmrichdep.h>
#include <solv/knownid.h>
#include <solv/chksum.h>
#include <solv/solvversion.h>
}

namespace {

struct NamedFlag {
  const char *name;
  int value;
};

const NamedFlag kSolverFlags[] = {
    {"allowdowngrade", SOLVER_FLAG_ALLOW_DOWNGRADE},
    {"allownamechange", SOLVER_FLAG_ALLOW_NAMECHANGE},
    {"allowarchchange", SOLVER_FLAG_ALLOW_ARCHCHANGE},
    {"allowvendorchange", SOLVER_FLAG_ALLOW_VENDORCHANGE},
    {"allowuninstall", SOLVER_FLAG_ALLOW_UNINSTALL},
    {"noupdateprovide", SOLVER_FLAG_NO_UPDATEPROVIDE},
    {"splitprovides", SOLVER_FLAG_SPLITPROVIDES},
    {"ignorerecommended", SOLVER_FLAG_IGNORE_RECOMMENDED},
    {"addalreadyrecommended", SOLVER_FLAG_ADD_ALREADY_RECOMMENDED},
    {"noinfarchcheck", SOLVER_FLAG_NO_INFARCHCHECK},
    {"keepexplicitobsoletes", SOLVER_FLAG_KEEP_EXPLICIT_OBSOLETES},
    {"bestobeypolicy", SOLVER_FLAG_BEST_OBEY_POLICY},
    {"noautotarget", SOLVER_FLAG_NO_AUTOTARGET},
    {"dupallowdowngrade", SOLVER_FLAG_DUP_ALLOW_DOWNGRADE},
    {"dupallowarchchange", SOLVER_FLAG_DUP_ALLOW_ARCHCHANGE},
    {"dupallowvendorchange", SOLVER_FLAG_DUP_ALLOW_VENDORCHANGE},
    {"dupallownamechange", SOLVER_FLAG_DUP_ALLOW_NAMECHANGE},
    {"keeporphans", SOLVER_FLAG_KEEP_ORPHANS},
    {"breakorphans", SOLVER_FLAG_BREAK_ORPHANS},
    {"focusinstalled", SOLVER_FLAG_FOCUS_INSTALLED},
    {"yumobsoletes", SOLVER_FLAG_YUM_OBSOLETES},
    {"needupdateprovide", SOLVER_FLAG_NEED_UPDATEPROVIDE},
    {"urpmreorder", SOLVER_FLAG_URPM_REORDER},
    {"focusbest", SOLVER_FLAG_FOCUS_BEST},
    {"strongrecommends", SOLVER_FLAG_STRONG_RECOMMENDS},
    {"installalsoupdates", SOLVER_FLAG_INSTALL_ALSO_UPDATES},
    {"onlynamespacerecommended", SOLVER_FLAG_ONLY_NAMESPACE_RECOMMENDED},
    {nullptr, 0}};

const NamedFlag kPoolFlags[] = {
    {"promoteepoch", POOL_FLAG_PROMOTEEPOCH},
    {"forbidselfconflicts", POOL_FLAG_FORBIDSELFCONFLICTS},
    {"obsoleteusesprovides", POOL_FLAG_OBSOLETEUSESPROVIDES},
    {"implicitobsoleteusesprovides", POOL_FLAG_IMPLICITOBSOLETEUSESPROVIDES},
    {"obsoleteusescolors", POOL_FLAG_OBSOLETEUSESCOLORS},
    {"implicitobsoleteusescolors", POOL_FLAG_IMPLICITOBSOLETEUSESCOLORS},
    {"noinstalledobsoletes", POOL_FLAG_NOINSTALLEDOBSOLETES},
    {"havedistepoch", POOL_FLAG_HAVEDISTEPOCH},
    {"noobsoletesmultiversion", POOL_FLAG_NOOBSOLETESMULTIVERSION},
    {"addfileprovidesfiltered", POOL_FLAG_ADDFILEPROVIDESFILTERED},
    {"nowhatprovidesaux", POOL_FLAG_NOWHATPROVIDESAUX},
    {"whatprovideswithdisabled", POOL_FLAG_WHATPROVIDESWITHDISABLED},
    {nullptr, 0}};

const NamedFlag kJobHow[] = {
    {"noop", SOLVER_NOOP},
    {"install", SOLVER_INSTALL},
    {"erase", SOLVER_ERASE},
    {"update", SOLVER_UPDATE},
    {"weakendeps", SOLVER_WEAKENDEPS},
    {"multiversion", SOLVER_MULTIVERSION},
    {"lock", SOLVER_LOCK},
    {"distupgrade", SOLVER_DISTUPGRADE},
    {"verify", SOLVER_VERIFY},
    {"droporphaned", SOLVER_DROP_ORPHANED},
    {"userinstalled", SOLVER_USERINSTALLED},
    {"allowuninstall", SOLVER_ALLOWUNINSTALL},
    {"favor", SOLVER_FAVOR},
    {"disfavor", SOLVER_DISFAVOR},
    {"excludefromweak", SOLVER_EXCLUDEFROMWEAK},
    {nullptr, 0}};

const NamedFlag kJobFlags[] = {
    {"weak", SOLVER_WEAK},
    {"essential", SOLVER_ESSENTIAL},
    {"cleandeps", SOLVER_CLEANDEPS},
    {"orupdate", SOLVER_ORUPDATE},
    {"forcebest", SOLVER_FORCEBEST},
    {"targeted", SOLVER_TARGETED},
    {"notbyuser", SOLVER_NOTBYUSER},
    {"setev", SOLVER_SETEV},
    {"setevr", SOLVER_SETEVR},
    {"setarch", SOLVER_SETARCH},
    {"setvendor", SOLVER_SETVENDOR},
    {"setrepo", SOLVER_SETREPO},
    {"noautoset", SOLVER_NOAUTOSET},
    {nullptr, 0}};

const NamedFlag kSelectionFlags[] = {
    {"name", SELECTION_NAME},
    {"provides", SELECTION_PROVIDES},
    {"filelist", SELECTION_FILELIST},
    {"canon", SELECTION_CANON},
    {"dotarch", SELECTION_DOTARCH},
    {"rel", SELECTION_REL},
    {"installedonly", SELECTION_INSTALLED_ONLY},
    {"glob", SELECTION_GLOB},
    {"flat", SELECTION_FLAT},
    {"nocase", SELECTION_NOCASE},
    {"withdisabled", SELECTION_WITH_DISABLED},
    {"withbadarch", SELECTION_WITH_BADARCH},
    {nullptr, 0}};

const NamedFlag kTransactionClasses[] = {
    {"erase", SOLVER_TRANSACTION_ERASE},
    {"install", SOLVER_TRANSACTION_INSTALL},
    {"reinstall", SOLVER_TRANSACTION_REINSTALLED},
    {"downgrade", SOLVER_TRANSACTION_DOWNGRADED},
    {"change", SOLVER_TRANSACTION_CHANGED},
    {"upgrade", SOLVER_TRANSACTION_UPGRADED},
    {"obsoleted", SOLVER_TRANSACTION_OBSOLETED},
    {"multiinstall", SOLVER_TRANSACTION_MULTIINSTALL},
    {"multireinstall", SOLVER_TRANSACTION_MULTIREINSTALL},
    {nullptr, 0}};

int lookupFlag(const Napi::Env &env, const NamedFlag *table, const std::string &name, const char *what) {
  for (const NamedFlag *f = table; f->name; f++)
    if (name == f->name) return f->value;
  throw Napi::Error::New(env, std::string("unknown ") + what + " '" + name + "'");
}

const char *ruleTypeName(SolverRuleinfo t) {
  switch (t) {
    case SOLVER_RULE_PKG_NOT_INSTALLABLE: return "not-installable";
    case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP: return "nothing-provides";
    case SOLVER_RULE_PKG_REQUIRES: return "requires";
    case SOLVER_RULE_PKG_SELF_CONFLICT: return "self-conflict";
    case SOLVER_RULE_PKG_CONFLICTS: return "conflicts";
    case SOLVER_RULE_PKG_SAME_NAME: return "same-name";
    case SOLVER_RULE_PKG_OBSOLETES: return "obsoletes";
    case SOLVER_RULE_PKG_IMPLICIT_OBSOLETES: return "implicit-obsoletes";
    case SOLVER_RULE_PKG_INSTALLED_OBSOLETES: return "installed-obsoletes";
    case SOLVER_RULE_PKG_RECOMMENDS: return "recommends";
    case SOLVER_RULE_PKG_CONSTRAINS: return "constrains";
    case SOLVER_RULE_PKG_SUPPLEMENTS: return "supplements";
    case SOLVER_RULE_PKG: return "pkg";
    case SOLVER_RULE_UPDATE: return "update";
    case SOLVER_RULE_FEATURE: return "feature";
    case SOLVER_RULE_JOB: return "job";
    case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP: return "job-nothing-provides";
    case SOLVER_RULE_JOB_PROVIDED_BY_SYSTEM: return "job-provided-by-system";
    case SOLVER_RULE_JOB_UNKNOWN_PACKAGE: return "job-unknown-package";
    case SOLVER_RULE_JOB_UNSUPPORTED: return "job-unsupported";
    case SOLVER_RULE_DISTUPGRADE: return "distupgrade";
    case SOLVER_RULE_INFARCH: return "infarch";
    case SOLVER_RULE_CHOICE: return "choice";
    case SOLVER_RULE_LEARNT: return "learnt";
    case SOLVER_RULE_BEST: return "best";
    case SOLVER_RULE_YUMOBS: return "yumobs";
    case SOLVER_RULE_RECOMMENDS: return "recommends-rule";
    case SOLVER_RULE_BLACK: return "blacklist";
    case SOLVER_RULE_STRICT_REPO_PRIORITY: return "strict-repo-priority";
    default: return "unknown";
  }
}

// Parse one dependency in rpm syntax: "name", "name op evr", "/file", or a rich "(a or b)".
Id parseDep(const Napi::Env &env, Pool *pool, const std::string &s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) throw Napi::Error::New(env, "empty dependency");
  size_t e = s.find_last_not_of(" \t");
  std::string d = s.substr(b, e - b + 1);
  if (d[0] == '(') {
    Id id = pool_parserpmrichdep(pool, d.c_str());
    if (!id) throw Napi::Error::New(env, "cannot parse rich dependency '" + d + "'");
    return id;
  }
  size_t sp = d.find_first_of(" \t");
  if (sp == std::string::npos) return pool_str2id(pool, d.c_str(), 1);
  std::string name = d.substr(0, sp);
  size_t ob = d.find_first_not_of(" \t", sp);
  size_t oe = d.find_first_of(" \t", ob);
  if (oe == std::string::npos) throw Napi::Error::New(env, "dependency '" + d + "': operator without version");
  std::string op = d.substr(ob, oe - ob);
  size_t vb = d.find_first_not_of(" \t", oe);
  if (vb == std::string::npos) throw Napi::Error::New(env, "dependency '" + d + "': operator without version");
  std::string evr = d.substr(vb);
  if (evr.find_first_of(" \t") != std::string::npos)
    throw Napi::Error::New(env, "dependency '" + d + "': unexpected text after the version");
  int flags = 0;
  if (op == "=" || op == "==") flags = REL_EQ;
  else if (op == "<") flags = REL_LT;
  else if (op == ">") flags = REL_GT;
  else if (op == "<=" || op == "=<") flags = REL_LT | REL_EQ;
  else if (op == ">=" || op == "=>") flags = REL_GT | REL_EQ;
  else if (op == "<>" || op == "!=") flags = REL_LT | REL_GT;
  else throw Napi::Error::New(env, "dependency '" + d + "': unknown operator '" + op + "'");
  return pool_rel2id(pool, pool_str2id(pool, name.c_str(), 1), pool_str2id(pool, evr.c_str(), 1), flags, 1);
}

std::string getString(const Napi::Object &o, const char *key, const std::string &def = "") {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("field '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

class SolvPool : public Napi::ObjectWrap<SolvPool> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Pool",
                       {
                           InstanceMethod("setPoolFlag", &SolvPool::SetPoolFlag),
                           InstanceMethod("addRepo", &SolvPool::AddRepo),
                           InstanceMethod("setRepoPriority", &SolvPool::SetRepoPriority),
                           InstanceMethod("freeRepo", &SolvPool::FreeRepo),
                           InstanceMethod("loadRpmmd", &SolvPool::LoadRpmmd),
                           InstanceMethod("loadSolv", &SolvPool::LoadSolv),
                           InstanceMethod("writeSolv", &SolvPool::WriteSolv),
                           InstanceMethod("addPackages", &SolvPool::AddPackages),
                           InstanceMethod("setInstalled", &SolvPool::SetInstalled),
                           InstanceMethod("setExcluded", &SolvPool::SetExcluded),
                           InstanceMethod("packages", &SolvPool::Packages),
                           InstanceMethod("rows", &SolvPool::Rows),
                           InstanceMethod("repoRows", &SolvPool::RepoRows),
                           InstanceMethod("details", &SolvPool::Details),
                           InstanceMethod("whatProvides", &SolvPool::WhatProvides),
                           InstanceMethod("select", &SolvPool::Select),
                           InstanceMethod("evrcmp", &SolvPool::Evrcmp),
                           InstanceMethod("solve", &SolvPool::Solve),
                           InstanceMethod("free", &SolvPool::Free),
                       });
  }

  explicit SolvPool(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SolvPool>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Pool(arch: string)");
    pool_ = pool_create();
    if (pool_setdisttype(pool_, DISTTYPE_RPM) < 0) {
      pool_free(pool_);
      pool_ = nullptr;
      throw Napi::Error::New(env, "libsolv was built without rpm support");
    }
    std::string arch = info[0].As<Napi::String>().Utf8Value();
    if (arch != "unset") pool_setarch(pool_, arch.c_str());
  }

  ~SolvPool() override {
    if (pool_) pool_free(pool_);
  }

 private:
  Pool *pool_ = nullptr;
  bool dirty_ = true;

  Pool *pool(const Napi::Env &env) {
    if (!pool_) throw Napi::Error::New(env, "pool was freed");
    return pool_;
  }

  Repo *repo(const Napi::Env &env, const Napi::Value &v) {
    Pool *p = pool(env);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "repo id must be a number");
    int id = v.As<Napi::Number>().Int32Value();
    if (id <= 0 || id >= p->nrepos || !p->repos[id]) throw Napi::Error::New(env, "no such repo id");
    return p->repos[id];
  }

  void prepare() {
    if (!dirty_) return;
    pool_addfileprovides(pool_);
    pool_createwhatprovides(pool_);
    dirty_ = false;
  }

  Napi::Value SetPoolFlag(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    int flag = lookupFlag(env, kPoolFlags, info[0].As<Napi::String>().Utf8Value(), "pool flag");
    pool_set_flag(p, flag, info[1].ToBoolean().Value() ? 1 : 0);
    dirty_ = true;
    return env.Undefined();
  }

  // addRepo(name, priority, subpriority) -> repo id
  Napi::Value AddRepo(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    std::string name = info[0].As<Napi::String>().Utf8Value();
    Repo *r = repo_create(p, name.c_str());
    r->priority = info[1].As<Napi::Number>().Int32Value();
    r->subpriority = info[2].As<Napi::Number>().Int32Value();
    dirty_ = true;
    return Napi::Number::New(env, r->repoid);
  }

  // freeRepo(repo): drop a repo (e.g. one whose metadata failed to load half-way).
  Napi::Value FreeRepo(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Repo *r = repo(env, info[0]);
    if (pool_->installed == r) pool_set_installed(pool_, nullptr);
    repo_free(r, 1);
    dirty_ = true;
    return env.Undefined();
  }

  Napi::Value SetRepoPriority(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Repo *r = repo(env, info[0]);
    r->priority = info[1].As<Napi::Number>().Int32Value();
    r->subpriority = info[2].As<Napi::Number>().Int32Value();
    dirty_ = true;
    return env.Undefined();
  }

  // loadRpmmd(repo, path, extend): primary.xml, or filelists.xml when extend is true.
  Napi::Value LoadRpmmd(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Repo *r = repo(env, info[0]);
    std::string path = info[1].As<Napi::String>().Utf8Value();
    bool extend = info[2].ToBoolean().Value();
    FILE *fp = solv_xfopen(path.c_str(), "r");
    if (!fp) throw Napi::Error::New(env, path + ": " + std::strerror(errno));
    int rc = repo_add_rpmmd(r, fp, nullptr, extend ? REPO_EXTEND_SOLVABLES : 0);
    std::fclose(fp);
    if (rc != 0) throw Napi::Error::New(env, path + ": " + pool_errstr(p));
    dirty_ = true;
    return env.Undefined();
  }

  Napi::Value LoadSolv(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Repo *r = repo(env, info[0]);
    std::string path = info[1].As<Napi::String>().Utf8Value();
    FILE *fp = std::fopen(path.c_str(), "r");
    if (!fp) throw Napi::Error::New(env, path + ": " + std::strerror(errno));
    int rc = repo_add_solv(r, fp, 0);
    std::fclose(fp);
    if (rc != 0) throw Napi::Error::New(env, path + ": " + pool_errstr(p));
    dirty_ = true;
    return env.Undefined();
  }

  // writeSolv(repo, path): writes and fsyncs `path` (the caller renames it into place).
  Napi::Value WriteSolv(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Repo *r = repo(env, info[0]);
    std::string path = info[1].As<Napi::String>().Utf8Value();
    FILE *fp = std::fopen(path.c_str(), "wx");
    if (!fp) throw Napi::Error::New(env, path + ": " + std::strerror(errno));
    int rc = repo_write(r, fp);
    int flushed = std::fflush(fp);
    int synced = flushed == 0 ? fsync(fileno(fp)) : -1;
    int closed = std::fclose(fp);
    if (rc != 0) throw Napi::Error::New(env, path + ": " + pool_errstr(p));
    if (flushed != 0 || synced != 0 || closed != 0) throw Napi::Error::New(env, path + ": " + std::strerror(errno));
    return env.Undefined();
  }

  static Offset addDeps(const Napi::Env &env, Pool *pool, Repo *r, const Napi::Object &pkg, const char *key,
                        Offset deps, Id marker) {
    Napi::Value v = pkg.Get(key);
    if (v.IsUndefined() || v.IsNull()) return deps;
    if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("field '") + key + "' must be an array");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value d = a.Get(i);
      if (!d.IsString()) throw Napi::TypeError::New(env, std::string("field '") + key + "' must hold strings");
      std::string s = d.As<Napi::String>().Utf8Value();
      Id id;
      try {
        id = parseDep(env, pool, s);
      } catch (const Napi::Error &e) {
        throw Napi::Error::New(env, std::string(key) + ": " + e.Message());
      }
      deps = repo_addid_dep(r, deps, id, marker);
    }
    return deps;
  }

  // addPackages(repo, pkgs): pkgs are {name, evr, arch, vendor?, buildtime?, summary?, location?,
  // checksumType?, checksum?, downloadSize?, provides?, requires?, prerequires?, conflicts?, obsoletes?,
  // recommends?, suggests?, supplements?, enhances?, files?}. Adds the "name = evr" self-provide.
  Napi::Value AddPackages(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Repo *r = repo(env, info[0]);
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "packages must be an array");
    Napi::Array pkgs = info[1].As<Napi::Array>();
    Repodata *data = repo_add_repodata(r, 0);
    for (uint32_t i = 0; i < pkgs.Length(); i++) {
      Napi::Object o = pkgs.Get(i).As<Napi::Object>();
      std::string name = getString(o, "name");
      std::string evr = getString(o, "evr");
      std::string arch = getString(o, "arch");
      Id sid = repo_add_solvable(r);
      Solvable *s = pool_id2solvable(p, sid);
      s->name = pool_str2id(p, name.c_str(), 1);
      s->evr = pool_str2id(p, evr.c_str(), 1);
      s->arch = arch.empty() ? 0 : pool_str2id(p, arch.c_str(), 1);
      std::string vendor = getString(o, "vendor");
      if (!vendor.empty()) s->vendor = pool_str2id(p, vendor.c_str(), 1);
      try {
        s->provides = addDeps(env, p, r, o, "provides", s->provides, 0);
        s->requires = addDeps(env, p, r, o, "requires", s->requires, -SOLVABLE_PREREQMARKER);
        s->requires = addDeps(env, p, r, o, "prerequires", s->requires, SOLVABLE_PREREQMARKER);
        s->conflicts = addDeps(env, p, r, o, "conflicts", s->conflicts, 0);
        s->obsoletes = addDeps(env, p, r, o, "obsoletes", s->obsoletes, 0);
        s->recommends = addDeps(env, p, r, o, "recommends", s->recommends, 0);
        s->suggests = addDeps(env, p, r, o, "suggests", s->suggests, 0);
        s->supplements = addDeps(env, p, r, o, "supplements", s->supplements, 0);
        s->enhances = addDeps(env, p, r, o, "enhances", s->enhances, 0);
      } catch (const Napi::Error &e) {
        throw Napi::Error::New(env, name + "-" + evr + "." + arch + ": " + e.Message());
      }
      if (s->arch != ARCH_SRC && s->arch != ARCH_NOSRC)
        s->provides = repo_addid_dep(r, s->provides, pool_rel2id(p, s->name, s->evr, REL_EQ, 1), 0);
      Napi::Value files = o.Get("files");
      if (files.IsArray()) {
        Napi::Array fa = files.As<Napi::Array>();
        for (uint32_t j = 0; j < fa.Length(); j++) {
          std::string f = fa.Get(j).As<Napi::String>().Utf8Value();
          size_t slash = f.rfind('/');
          if (slash == std::string::npos) continue;
          std::string dir = slash == 0 ? "/" : f.substr(0, slash);
          Id did = repodata_str2dir(data, dir.c_str(), 1);
          if (!did) did = repodata_str2dir(data, "/", 1);
          repodata_add_dirstr(data, sid, SOLVABLE_FILELIST, did, f.c_str() + slash + 1);
        }
      }
      std::string summary = getString(o, "summary");
      if (!summary.empty()) repodata_set_str(data, sid, SOLVABLE_SUMMARY, summary.c_str());
      std::string location = getString(o, "location");
      if (!location.empty()) repodata_set_location(data, sid, 0, nullptr, location.c_str());
      Napi::Value bt = o.Get("buildtime");
      if (bt.IsNumber()) repodata_set_num(data, sid, SOLVABLE_BUILDTIME, bt.As<Napi::Number>().Int64Value());
      Napi::Value ds = o.Get("downloadSize");
      if (ds.IsNumber()) repodata_set_num(data, sid, SOLVABLE_DOWNLOADSIZE, ds.As<Napi::Number>().Int64Value());
      std::string chkType = getString(o, "checksumType");
      std::string chk = getString(o, "checksum");
      if (!chkType.empty() && !chk.empty()) {
        Id t = solv_chksum_str2type(chkType.c_str());
        if (!t) throw Napi::Error::New(env, name + ": unknown checksum type '" + chkType + "'");
        repodata_set_checksum(data, sid, SOLVABLE_CHECKSUM, t, chk.c_str());
      }
    }
    repodata_internalize(data);
    dirty_ = true;
    return env.Undefined();
  }

  Napi::Value SetInstalled(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    if (info[0].IsNull() || info[0].IsUndefined()) {
      pool_set_installed(p, nullptr);
    } else {
      pool_set_installed(p, repo(env, info[0]));
    }
    dirty_ = true;
    return env.Undefined();
  }

  // setExcluded(ids): exclude exactly these solvables from solving (dnf's excludes); [] clears.
  Napi::Value SetExcluded(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Napi::Array ids = info[0].As<Napi::Array>();
    if (ids.Length() == 0) {
      if (p->considered) {
        map_free(p->considered);
        p->considered = (Map *)solv_free(p->considered);
      }
    } else {
      if (!p->considered) {
        p->considered = (Map *)solv_calloc(1, sizeof(Map));
        map_init(p->considered, p->nsolvables);
      } else {
        map_grow(p->considered, p->nsolvables);
      }
      map_setall(p->considered);
      for (uint32_t i = 0; i < ids.Length(); i++) {
        int id = ids.Get(i).As<Napi::Number>().Int32Value();
        if (id > 1 && id < p->nsolvables) MAPCLR(p->considered, id);
      }
    }
    dirty_ = true;
    return env.Undefined();
  }

  // packages() -> [id, name, evr, arch, repoName, repoId][] for every solvable in a repo.
  Napi::Value Packages(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Napi::Array out = Napi::Array::New(env);
    uint32_t n = 0;
    for (Id id = 2; id < p->nsolvables; id++) {
      Solvable *s = p->solvables + id;
      if (!s->repo) continue;
      Napi::Array row = Napi::Array::New(env, 6);
      row.Set(0u, Napi::Number::New(env, id));
      row.Set(1u, Napi::String::New(env, pool_id2str(p, s->name)));
      row.Set(2u, Napi::String::New(env, pool_id2str(p, s->evr)));
      row.Set(3u, Napi::String::New(env, s->arch ? pool_id2str(p, s->arch) : ""));
      row.Set(4u, Napi::String::New(env, s->repo->name ? s->repo->name : ""));
      row.Set(5u, Napi::Number::New(env, s->repo->repoid));
      out.Set(n++, row);
    }
    return out;
  }

  Napi::Array row(const Napi::Env &env, Pool *p, Id id) {
    Solvable *s = p->solvables + id;
    Napi::Array row = Napi::Array::New(env, 6);
    row.Set(0u, Napi::Number::New(env, id));
    row.Set(1u, Napi::String::New(env, pool_id2str(p, s->name)));
    row.Set(2u, Napi::String::New(env, pool_id2str(p, s->evr)));
    row.Set(3u, Napi::String::New(env, s->arch ? pool_id2str(p, s->arch) : ""));
    row.Set(4u, Napi::String::New(env, s->repo->name ? s->repo->name : ""));
    row.Set(5u, Napi::Number::New(env, s->repo->repoid));
    return row;
  }

  // rows(ids) -> the packages() row of each id, or null where the id is no package.
  Napi::Value Rows(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Napi::Array ids = info[0].As<Napi::Array>();
    uint32_t n = ids.Length();
    Napi::Array out = Napi::Array::New(env, n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value v = ids.Get(i);
      int id = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0;
      if (id <= 1 || id >= p->nsolvables || !p->solvables[id].repo) out.Set(i, env.Null());
      else out.Set(i, row(env, p, id));
    }
    return out;
  }

  // repoRows(repo) -> the packages() rows of one repository.
  Napi::Value RepoRows(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Repo *r = repo(env, info[0]);
    Napi::Array out = Napi::Array::New(env);
    uint32_t n = 0;
    Id id;
    Solvable *s;
    FOR_REPO_SOLVABLES(r, id, s) out.Set(n++, row(env, p, id));
    return out;
  }

  // details(id) -> {location?, checksumType?, checksum?, downloadSize?}
  Napi::Value Details(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    int id = info[0].As<Napi::Number>().Int32Value();
    if (id <= 1 || id >= p->nsolvables || !p->solvables[id].repo) throw Napi::Error::New(env, "no such solvable");
    Solvable *s = p->solvables + id;
    Napi::Object o = Napi::Object::New(env);
    unsigned int medianr = 0;
    const char *loc = solvable_get_location(s, &medianr);
    if (loc) o.Set("location", Napi::String::New(env, loc));
    Id type = 0;
    const char *chk = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
    if (chk && type) {
      o.Set("checksumType", Napi::String::New(env, solv_chksum_type2str(type)));
      o.Set("checksum", Napi::String::New(env, chk));
    }
    unsigned long long size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
    if (size) o.Set("downloadSize", Napi::Number::New(env, (double)size));
    return o;
  }

  static Napi::Array queueToArray(const Napi::Env &env, const Queue &q) {
    Napi::Array a = Napi::Array::New(env, q.count);
    for (int i = 0; i < q.count; i++) a.Set((uint32_t)i, Napi::Number::New(env, q.elements[i]));
    return a;
  }

  Napi::Value WhatProvides(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    Id dep = parseDep(env, p, info[0].As<Napi::String>().Utf8Value());
    prepare();
    Napi::Array a = Napi::Array::New(env);
    uint32_t n = 0;
    Id sp, pp;
    Pool *pool = p;  // FOR_PROVIDES expects a variable named `pool`
    FOR_PROVIDES(sp, pp, dep) a.Set(n++, Napi::Number::New(env, sp));
    return a;
  }

  // select(text, flags[]) -> solvable ids matched by libsolv's selection code (name/provides/NEVRA/glob/file).
  Napi::Value Select(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    std::string text = info[0].As<Napi::String>().Utf8Value();
    int flags = 0;
    Napi::Array fa = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < fa.Length(); i++)
      flags |= lookupFlag(env, kSelectionFlags, fa.Get(i).As<Napi::String>().Utf8Value(), "selection flag");
    prepare();
    Queue sel, q;
    queue_init(&sel);
    queue_init(&q);
    selection_make(p, &sel, text.c_str(), flags);
    selection_solvables(p, &sel, &q);
    Napi::Array a = queueToArray(env, q);
    queue_free(&sel);
    queue_free(&q);
    return a;
  }

  Napi::Value Evrcmp(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    std::string a = info[0].As<Napi::String>().Utf8Value();
    std::string b = info[1].As<Napi::String>().Utf8Value();
    return Napi::Number::New(env, pool_evrcmp_str(p, a.c_str(), b.c_str(), EVRCMP_COMPARE));
  }

  // Append one job: {how, flags[], select, dep?, id?, ids?, repo?, text?, selectionFlags?}
  void addJob(const Napi::Env &env, Queue *job, const Napi::Object &j) {
    Pool *p = pool_;
    int how = lookupFlag(env, kJobHow, getString(j, "how"), "job");
    Napi::Value fv = j.Get("flags");
    if (fv.IsArray()) {
      Napi::Array fa = fv.As<Napi::Array>();
      for (uint32_t i = 0; i < fa.Length(); i++)
        how |= lookupFlag(env, kJobFlags, fa.Get(i).As<Napi::String>().Utf8Value(), "job flag");
    }
    std::string select = getString(j, "select");
    if (select == "name" || select == "provides") {
      Id dep = parseDep(env, p, getString(j, "dep"));
      queue_push2(job, how | (select == "name" ? SOLVER_SOLVABLE_NAME : SOLVER_SOLVABLE_PROVIDES), dep);
    } else if (select == "pkg") {
      int id = j.Get("id").As<Napi::Number>().Int32Value();
      if (id <= 1 || id >= p->nsolvables) throw Napi::Error::New(env, "job: no such solvable");
      queue_push2(job, how | SOLVER_SOLVABLE, id);
    } else if (select == "oneof") {
      Napi::Array ids = j.Get("ids").As<Napi::Array>();
      Queue q;
      queue_init(&q);
      for (uint32_t i = 0; i < ids.Length(); i++) queue_push(&q, ids.Get(i).As<Napi::Number>().Int32Value());
      Id w = pool_queuetowhatprovides(p, &q);
      queue_free(&q);
      queue_push2(job, how | SOLVER_SOLVABLE_ONE_OF, w);
    } else if (select == "repo") {
      Repo *r = repo(env, j.Get("repo"));
      queue_push2(job, how | SOLVER_SOLVABLE_REPO, r->repoid);
    } else if (select == "all") {
      queue_push2(job, how | SOLVER_SOLVABLE_ALL, 0);
    } else if (select == "selection") {
      int sflags = 0;
      Napi::Array fa = j.Get("selectionFlags").As<Napi::Array>();
      for (uint32_t i = 0; i < fa.Length(); i++)
        sflags |= lookupFlag(env, kSelectionFlags, fa.Get(i).As<Napi::String>().Utf8Value(), "selection flag");
      Queue sel;
      queue_init(&sel);
      selection_make(p, &sel, getString(j, "text").c_str(), sflags);
      if (!sel.count) {
        queue_free(&sel);
        throw Napi::Error::New(env, "nothing matches '" + getString(j, "text") + "'");
      }
      for (int i = 0; i < sel.count; i += 2) queue_push2(job, sel.elements[i] | how, sel.elements[i + 1]);
      queue_free(&sel);
    } else {
      throw Napi::Error::New(env, "unknown job selection '" + select + "'");
    }
  }

  // solve(jobs, flags: {[name]: boolean}) -> {problems, transaction, recommended, suggested, cleandeps, orphaned, jobIndex}
  Napi::Value Solve(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Pool *p = pool(env);
    prepare();
    Napi::Array jobs = info[0].As<Napi::Array>();
    Queue job;
    queue_init(&job);
    // jobOf[k] = index of the user job that produced libsolv job pair k
    std::vector<uint32_t> jobOf;
    try {
      for (uint32_t i = 0; i < jobs.Length(); i++) {
        int before = job.count;
        addJob(env, &job, jobs.Get(i).As<Napi::Object>());
        for (int k = before; k < job.count; k += 2) jobOf.push_back(i);
      }
    } catch (...) {
      queue_free(&job);
      throw;
    }
    Solver *solv = solver_create(p);
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object flags = info[1].As<Napi::Object>();
      Napi::Array keys = flags.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); i++) {
        std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
        int f;
        try {
          f = lookupFlag(env, kSolverFlags, k, "solver flag");
        } catch (...) {
          solver_free(solv);
          queue_free(&job);
          throw;
        }
        solver_set_flag(solv, f, flags.Get(k).ToBoolean().Value() ? 1 : 0);
      }
    }
    int nprob = solver_solve(solv, &job);
    Napi::Object out = Napi::Object::New(env);

    Napi::Array problems = Napi::Array::New(env);
    for (int pi = 1; pi <= nprob; pi++) {
      Napi::Object prob = Napi::Object::New(env);
      Queue rules;
      queue_init(&rules);
      Id main = solver_findproblemrule(solv, pi);
      solver_findallproblemrules(solv, pi, &rules);
      Napi::Array ra = Napi::Array::New(env);
      uint32_t rn = 0;
      auto pushRule = [&](Id rid) {
        Id from = 0, to = 0, dep = 0;
        SolverRuleinfo t = solver_ruleinfo(solv, rid, &from, &to, &dep);
        Napi::Object r = Napi::Object::New(env);
        r.Set("type", Napi::String::New(env, ruleTypeName(t)));
        bool isJobRule = (t & SOLVER_RULE_TYPEMASK) == SOLVER_RULE_JOB;
        // job rules report the job's how/what instead of packages
        auto solvable = [&](Id id) { return id > 1 && id < p->nsolvables && p->solvables[id].repo ? id : 0; };
        bool isBest = (t & SOLVER_RULE_TYPEMASK) == SOLVER_RULE_BEST;
        r.Set("source", Napi::Number::New(env, isJobRule ? 0 : solvable(from)));
        r.Set("target", Napi::Number::New(env, isJobRule || isBest ? 0 : solvable(to)));
        bool isJob = (t & SOLVER_RULE_TYPEMASK) == SOLVER_RULE_JOB;
        int sel = to & SOLVER_SELECTMASK;
        if (dep && (!isJob || sel == SOLVER_SOLVABLE_NAME || sel == SOLVER_SOLVABLE_PROVIDES))
          r.Set("dep", Napi::String::New(env, pool_dep2str(p, dep)));
        if (isJob) {
          // for job rules libsolv reports the job's how/what; map back to the user's job
          for (int k = 0; k + 1 < job.count; k += 2)
            if (job.elements[k] == to && job.elements[k + 1] == dep) {
              r.Set("job", Napi::Number::New(env, jobOf[k / 2]));
              break;
            }
        }
        r.Set("libsolv", Napi::String::New(env, solver_problemruleinfo2str(solv, t, from, to, dep)));
        ra.Set(rn++, r);
      };
      pushRule(main);
      for (int k = 0; k < rules.count; k++)
        if (rules.elements[k] != main) pushRule(rules.elements[k]);
      queue_free(&rules);
      prob.Set("rules", ra);
      Napi::Array sols = Napi::Array::New(env);
      int nsol = solver_solution_count(solv, pi);
      for (int si = 1; si <= nsol; si++) {
        Napi::Array els = Napi::Array::New(env);
        uint32_t en = 0;
        Id el = 0, sp = 0, rp = 0;
        while ((el = solver_next_solutionelement(solv, pi, si, el, &sp, &rp)) != 0) {
          Napi::Object e = Napi::Object::New(env);
          if (sp == SOLVER_SOLUTION_JOB || sp == SOLVER_SOLUTION_POOLJOB) {
            e.Set("kind", Napi::String::New(env, "deljob"));
            int k = (rp - 1) / 2;
            if (sp == SOLVER_SOLUTION_JOB && k >= 0 && (size_t)k < jobOf.size())
              e.Set("job", Napi::Number::New(env, jobOf[k]));
          } else if (sp > 0 && rp == 0) {
            e.Set("kind", Napi::String::New(env, "erase"));
            e.Set("p", Napi::Number::New(env, sp));
          } else if (sp > 0 && rp > 0) {
            e.Set("kind", Napi::String::New(env, "replace"));
            e.Set("p", Napi::Number::New(env, sp));
            e.Set("rp", Napi::Number::New(env, rp));
          } else if (sp < 0 && rp > 0) {
            e.Set("kind", Napi::String::New(env, "allow"));
            e.Set("rp", Napi::Number::New(env, rp));
            const char *why = sp == SOLVER_SOLUTION_DISTUPGRADE ? "distupgrade"
                              : sp == SOLVER_SOLUTION_INFARCH   ? "infarch"
                              : sp == SOLVER_SOLUTION_BEST      ? "best"
                              : sp == SOLVER_SOLUTION_BLACK     ? "blacklist"
                                                                : "other";
            e.Set("why", Napi::String::New(env, why));
          } else {
            e.Set("kind", Napi::String::New(env, "unknown"));
          }
          e.Set("libsolv", Napi::String::New(env, solver_solutionelement2str(solv, sp, rp)));
          els.Set(en++, e);
        }
        sols.Set((uint32_t)(si - 1), els);
      }
      prob.Set("solutions", sols);
      problems.Set((uint32_t)(pi - 1), prob);
    }
    out.Set("problems", problems);

    Transaction *trans = solver_create_transaction(solv);
    Napi::Array steps = Napi::Array::New(env);
    uint32_t sn = 0;
    Queue q;
    queue_init(&q);
    for (const NamedFlag *c = kTransactionClasses; c->name; c++) {
      queue_empty(&q);
      transaction_classify_pkgs(trans, SOLVER_TRANSACTION_KEEP_PSEUDO, c->value, 0, 0, &q);
      for (int k = 0; k < q.count; k++) {
        Id sp = q.elements[k];
        Id op = 0;
        if (p->installed && p->solvables[sp].repo == p->installed) op = transaction_obs_pkg(trans, sp);
        Napi::Array step = Napi::Array::New(env, 3);
        step.Set(0u, Napi::String::New(env, c->name));
        step.Set(1u, Napi::Number::New(env, sp));
        step.Set(2u, Napi::Number::New(env, op));
        steps.Set(sn++, step);
      }
    }
    transaction_free(trans);
    out.Set("steps", steps);

    Queue qs;
    queue_init(&qs);
    queue_empty(&q);
    solver_get_recommendations(solv, &q, &qs, 0);
    out.Set("recommended", queueToArray(env, q));
    out.Set("suggested", queueToArray(env, qs));
    queue_free(&qs);
    queue_empty(&q);
    solver_get_cleandeps(solv, &q);
    out.Set("cleandeps", queueToArray(env, q));
    queue_empty(&q);
    solver_get_orphaned(solv, &q);
    out.Set("orphaned", queueToArray(env, q));
    queue_free(&q);

    solver_free(solv);
    queue_free(&job);
    return out;
  }

  Napi::Value Free(const Napi::CallbackInfo &info) {
    if (pool_) pool_free(pool_);
    pool_ = nullptr;
    return info.Env().Undefined();
  }
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("Pool", SolvPool::Init(env));
  exports.Set("version", Napi::String::New(env, solv_version));
  return exports;
}

}  // namespace

NODE_API_MODULE(solv, InitModule)
