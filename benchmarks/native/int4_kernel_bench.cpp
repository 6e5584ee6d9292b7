/*
 * int4 kernel microbenchmark: woq's native int4 matmuls (the C API of libwoq_kernels.so) over the
 * matrices of four Llama-3-8B layers (q/k/v fused as 6144 x 4096, o 4096 x 4096, gate and up
 * 14336 x 4096, down 4096 x 14336), random codes, best of 7 passes of 3. Prints ms per pass.
 * Formats: g128 (int4, bf16 scale and zero per 128), g32 (per 32), q32 (int4-q32 codes).
 * Environment: OFF=N puts the codes N bytes off a 64-byte boundary; NOHUGE=1 maps them in 4 KiB
 * pages (else transparent huge pages are asked for); MAPFILE=DIR maps each buffer from a file
 * in DIR instead (shared, in the page cache, as woq maps a checkpoint's tensors); ACTIVATIONS=bf16|int8 picks what the codes
 * multiply (woq_set_int4_activations), and with it the output of the first matrix is compared
 * against the other setting's (relative RMS difference printed).
 * Build and run: benchmarks/native/run-int4-kernel-bench.sh (after mvn package).
 */
#include <dlfcn.h>
#include <omp.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>
#include <random>
#include <cstring>
#include <cmath>
#include <sys/mman.h>
#include <string>
#include <unistd.h>
/* Maps each buffer on its own pages (page-aligned, so OFF alone sets the codes' offset). */
template <class T>
struct MA {
  typedef T value_type;
  MA() = default;
  template <class U> MA(const MA<U> &) {}
  T *allocate(size_t n) {
    if (const char *dir = getenv("MAPFILE")) {
      std::string path = std::string(dir) + "/int4_kernel_bench.XXXXXX";
      int fd = mkstemp(&path[0]);
      if (fd < 0 || ftruncate(fd, n * sizeof(T) + 4096) != 0) { perror(path.c_str()); exit(1); }
      unlink(path.c_str());
      void *p = mmap(0, n * sizeof(T) + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close(fd);
      if (p == MAP_FAILED) { perror("mmap"); exit(1); }
      return (T *)p;
    }
    void *p = mmap(0, n * sizeof(T) + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, n * sizeof(T) + 4096, getenv("NOHUGE") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    return (T *)p;
  }
  void deallocate(T *p, size_t n) { munmap(p, n * sizeof(T) + 4096); }
  bool operator==(const MA &) const { return true; }
  bool operator!=(const MA &) const { return false; }
};
static int OFF = getenv("OFF") ? atoi(getenv("OFF")) : 0;
typedef int (*I4)(const uint16_t*, const uint8_t*, const uint16_t*, const uint16_t*, uint16_t*, int,int,int,int);
typedef int (*Q32)(const uint16_t*, const uint8_t*, const uint8_t*, const uint8_t*, float, uint16_t*, int,int,int);
typedef int (*ST)(int);
typedef int (*PK)(int);
static uint16_t bf(float f){uint32_t u; memcpy(&u,&f,4); return (uint16_t)((u+0x7fff+((u>>16)&1))>>16);}
int main(int argc, char**argv){
  #pragma omp parallel
  { volatile int x = omp_get_thread_num(); (void)x; }
  void*h=dlopen(argv[1],RTLD_NOW|RTLD_GLOBAL); if(!h){printf("%s\n",dlerror());return 1;}
  ST st=(ST)dlsym(h,"woq_set_threads"); I4 i4=(I4)dlsym(h,"woq_int4_mm"); Q32 q=(Q32)dlsym(h,"woq_int4q32_mm");
  printf("threads rc %d\n", st(atoi(argv[2])));
  PK pk=(PK)dlsym(h,"woq_set_int4_activations");
  const char* activations=getenv("ACTIVATIONS"); int kernel = activations && !strcmp(activations,"bf16") ? 0 : 1;
  if(activations && pk(kernel) < 0){printf("woq_set_int4_activations(%d) failed\n", kernel); return 1;}
  const char* which=argv[3]; int m = argc>4? atoi(argv[4]):1;
  // four 8B layers: gate, up, down, q/k/v fused, o; far more than the caches hold
  struct M{int n,k;}; std::vector<M> ms;
  for(int l=0;l<4;l++){ ms.push_back({14336,4096}); ms.push_back({14336,4096}); ms.push_back({4096,14336}); ms.push_back({6144,4096}); ms.push_back({4096,4096});}
  std::mt19937 rng(1);
  typedef std::vector<uint8_t,MA<uint8_t>> V8; typedef std::vector<uint16_t,MA<uint16_t>> V16; std::vector<V8> nib, sc, zc; std::vector<V16> s16, z16;
  size_t bytes=0;
  for(auto&mm:ms){ size_t nk=(size_t)mm.n*mm.k; V8 a(nk/2+64); for(auto&b:a) b=rng();
    nib.push_back(a); int G = strcmp(which,"g128")==0?128:32; size_t ng=(size_t)mm.n*(mm.k/G);
    V8 c(ng), z(ng); for(auto&b:c) b=rng()%64; for(auto&b:z) b=rng();
    V16 s(ng), zz(ng); for(size_t i=0;i<ng;i++){s[i]=bf(0.01f*(1+rng()%7)); zz[i]=bf(-0.05f);}
    sc.push_back(c); zc.push_back(z); s16.push_back(s); z16.push_back(zz);
    bytes += nk/2 + (strcmp(which,"q32")==0? 2*ng : 4*ng);
  }
  int K=14336; std::vector<uint16_t> x((size_t)m*K), y((size_t)m*14336);
  for(auto&v:x) v=bf(((int)(rng()%2001)-1000)/1000.0f);
  auto call=[&](){ for(size_t i=0;i<ms.size();i++){ int rc;
      if(!strcmp(which,"q32")) rc=q(x.data(),nib[i].data()+OFF,sc[i].data(),zc[i].data(),0.5f,y.data(),m,ms[i].n,ms[i].k);
      else rc=i4(x.data(),nib[i].data()+OFF,s16[i].data(),z16[i].data(),y.data(),m,ms[i].n,ms[i].k, !strcmp(which,"g128")?128:32);
      if(rc){printf("rc %d\n",rc);exit(1);} } };
  call();
  if(activations){ // the first matrix on both settings
    std::vector<uint16_t> a((size_t)m*ms[0].n), b((size_t)m*ms[0].n);
    auto one=[&](std::vector<uint16_t>&out){ if(!strcmp(which,"q32")) q(x.data(),nib[0].data()+OFF,sc[0].data(),zc[0].data(),0.5f,out.data(),m,ms[0].n,ms[0].k);
      else i4(x.data(),nib[0].data()+OFF,s16[0].data(),z16[0].data(),out.data(),m,ms[0].n,ms[0].k, !strcmp(which,"g128")?128:32); };
    one(a); pk(1-kernel); one(b); pk(kernel);
    double num=0, den=0; for(size_t i=0;i<a.size();i++){ uint32_t ua=(uint32_t)a[i]<<16, ub=(uint32_t)b[i]<<16; float fa, fb; memcpy(&fa,&ua,4); memcpy(&fb,&ub,4); num+=(double)(fa-fb)*(fa-fb); den+=(double)fb*fb; }
    printf("relative RMS difference to the other activations: %.5f\n", sqrt(num/den));
  }
  double best=1e9;
  for(int rep=0;rep<7;rep++){ auto t0=std::chrono::steady_clock::now(); for(int i=0;i<3;i++) call(); double s=std::chrono::duration<double>(std::chrono::steady_clock::now()-t0).count()/3; if(s<best)best=s; }
  printf("%s m=%d: %.2f ms per pass over %.0f MB of weights (%.1f GB/s)\n", which, m, best*1e3, bytes/1e6, bytes/best/1e9);
}
