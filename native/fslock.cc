// Open-file-description locks (fcntl F_OFD_SETLK) on a file descriptor Node opened.
// libostree locks repositories and sysroots with OFD locks; flock(2) locks are invisible to
// those on Linux, so sharing a repository with the real ostree needs this exact kind.
#include <napi.h>
#include <fcntl.h>
#include <cerrno>
#include <cstring>

namespace {

// tryLock(fd, exclusive) -> true when taken, false when another holder conflicts.
Napi::Value TryLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBoolean())
    throw Napi::TypeError::New(env, "tryLock(fd: number, exclusive: boolean)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = info[1].As<Napi::Boolean>().Value() ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  int r;
  do { r = fcntl(fd, F_OFD_SETLK, &fl); } while (r < 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EAGAIN || errno == EACCES) return Napi::Boolean::New(env, false);
  Napi::Error e = Napi::Error::New(env, std::string("fcntl(F_OFD_SETLK): ") + std::strerror(errno));
  e.Set("errno", Napi::Number::New(env, errno));
  throw e;
}

// unlock(fd): drop whatever lock this open file description holds.
Napi::Value Unlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "unlock(fd: number)");
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  int r;
  do { r = fcntl(info[0].As<Napi::Number>().Int32Value(), F_OFD_SETLK, &fl); } while (r < 0 && errno == EINTR);
  if (r < 0) throw Napi::Error::New(env, std::string("fcntl(F_UNLCK): ") + std::strerror(errno));
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tryLock", Napi::Function::New(env, TryLock));
  exports.Set("unlock", Napi::Function::New(env, Unlock));
  return exports;
}

}  // namespace

NODE_API_MODULE(fslock, Init)
