// The few autocannon types bench/load.ts uses (the package ships none and @types/autocannon is not a dependency).
declare module 'autocannon' {
  interface Req { method?: string; path?: string; headers?: Record<string, string>; body?: string }
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    connections?: number;
    duration?: number;
    requests?: { setupRequest?: (req: Req) => Req }[];
  }
  interface Stats { average: number; total: number; p50: number; p99: number; max: number }
  interface Result { requests: Stats; latency: Stats; non2xx: number; errors: number; timeouts: number }
  export default function autocannon(opts: Options): Promise<Result>;
}
