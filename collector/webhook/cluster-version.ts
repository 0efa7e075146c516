/** The first Kubernetes minor release that runs native sidecars by default (SidecarContainers, beta on in 1.29). */
export const NATIVE_SIDECAR_MIN = { major: 1, minor: 29 } as const;

/**
 * Whether a server version from GET /version runs native sidecars. Providers append to the minor (`"29+"` on
 * GKE/EKS), so only the leading digits count; anything unreadable is treated as old: the classic form works
 * everywhere, while a native sidecar on an old server silently turns into a blocking init container.
 */
export function supportsNativeSidecars(v: { major?: string; minor?: string; gitVersion?: string }): boolean {
  let major = Number.parseInt(v.major ?? '', 10);
  let minor = Number.parseInt(v.minor ?? '', 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) {
    const m = /^v?(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
    if (!m) return false;
    major = Number(m[1]);
    minor = Number(m[2]);
  }
  return major > NATIVE_SIDECAR_MIN.major || (major === NATIVE_SIDECAR_MIN.major && minor >= NATIVE_SIDECAR_MIN.minor);
}
