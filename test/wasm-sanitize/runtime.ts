// What emscripten's sanitizer runtimes import, for the modules built with -fsanitize=address and
// undefined (CMakeLists.txt, LSTM_WASM_SANITIZE). They are standalone modules, as wasm/dist's are,
// so there is no JS glue to give these: a report is printed through fd_write, and the abort that
// follows it (ASan always, UBSan with -fno-sanitize-recover=all) arrives as proc_exit. Only tests
// use this; lib/backends/wasm.ts gives the release modules their two imports.

/** The imports a sanitized module asks for beyond the release modules' two. */
export const SANITIZER_IMPORT = 'fd_write';

/** Where test/wasm-sanitize/setup.ts keeps the reports of the modules the library loaded. */
export const REPORTS = Symbol.for('lstm-runtime.wasm-sanitize');
export interface SanitizerReports {
  /** Reports not yet failed on (the setup's afterEach fails the test and clears them). */
  reports: string[];
  /** Sanitized modules instantiated in this process. */
  instances: number;
}

export const needsSanitizerRuntime = (module: WebAssembly.Module) => WebAssembly.Module.imports(module).some((i) => i.name === SANITIZER_IMPORT);

export interface SanitizerRuntime {
  imports: { env: Record<string, (...args: never[]) => unknown>; wasi_snapshot_preview1: Record<string, (...args: never[]) => unknown> };
  /** Gives the runtime the instance's memory, which fd_write reads from. */
  attach(instance: WebAssembly.Instance): void;
}

const EBADF = 8; // WASI errno
const ENOSYS = 52;

/**
 * The runtime's imports. `onReport` receives each report at the abort that ends it: what the module
 * printed (since the last report), and the JS stack at the abort (wasm function names: the modules keep them, --profiling-funcs;
 * emscripten's own unwinder needs the glue, so its stack in the report is empty).
 */
export function sanitizerRuntime(onReport: (report: string) => void): SanitizerRuntime {
  let memory: WebAssembly.Memory | null = null;
  let printed = '';
  const bytes = () => new Uint8Array(memory!.buffer);
  const view = () => new DataView(memory!.buffer);
  return {
    attach(instance) {
      memory = instance.exports.memory as WebAssembly.Memory;
    },
    imports: {
      wasi_snapshot_preview1: {
        fd_write: ((fd: number, iovs: number, count: number, written: number) => {
          const v = view();
          let total = 0;
          for (let k = 0; k < count; k++) {
            const ptr = v.getUint32(iovs + 8 * k, true);
            const len = v.getUint32(iovs + 8 * k + 4, true);
            if (fd === 1 || fd === 2) printed += new TextDecoder().decode(bytes().subarray(ptr, ptr + len));
            total += len;
          }
          v.setUint32(written, total, true);
          return fd === 1 || fd === 2 ? 0 : EBADF;
        }) as never,
        proc_exit: ((code: number) => {
          const limit = Error.stackTraceLimit;
          Error.stackTraceLimit = 40; // down to the library's call into the module
          const stack = new Error('abort').stack?.split('\n').slice(2).join('\n') ?? '';
          Error.stackTraceLimit = limit;
          onReport(`${printed}(the module aborted, exit code ${code}, at:\n${stack})\n`);
          printed = '';
          throw new Error(`sanitizer report: the WebAssembly module aborted (exit ${code})`);
        }) as never,
        clock_time_get: ((_id: number, _precision: bigint, out: number) => {
          view().setBigUint64(out, BigInt(Date.now()) * 1_000_000n, true);
          return 0;
        }) as never,
        environ_sizes_get: ((count: number, size: number) => {
          view().setUint32(count, 0, true);
          view().setUint32(size, 0, true);
          return 0;
        }) as never,
        environ_get: () => 0,
        fd_close: () => EBADF,
        fd_seek: () => EBADF,
        fd_read: () => EBADF,
      },
      env: {
        emscripten_notify_memory_growth: () => {},
        // The glue's EM_ASM blocks: reading ASAN_OPTIONS and UBSAN_OPTIONS from Module (none: the
        // options are built in, wasm/sanitize_options.cc) and asking whether to print in colour (no).
        emscripten_asm_const_int: () => 0,
        emscripten_asm_const_double: () => 0,
        emscripten_get_module_name: ((buf: number, length: number) => {
          const name = new TextEncoder().encode('lstm-sanitized.wasm\0');
          if (length < name.length) return 0;
          bytes().set(name, buf);
          return name.length - 1;
        }) as never,
        // Stacks and symbols come from the glue: none here (see above).
        emscripten_return_address: () => 0,
        emscripten_stack_snapshot: () => 0,
        emscripten_stack_unwind_buffer: () => 0,
        emscripten_pc_get_function: () => 0,
        emscripten_pc_get_file: () => 0,
        emscripten_pc_get_line: () => 0,
        emscripten_pc_get_column: () => 0,
        __syscall_stat64: () => -ENOSYS,
        __syscall_dup: () => -ENOSYS,
      },
    },
  };
}
