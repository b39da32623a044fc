import Foundation

/// The CPUs this process may use: the container's cgroup CPU quota when there is one, else the
/// processors the OS reports. A 2-CPU pod on a 64-core node must size its threads for 2.
public enum CPUQuota {
    /// The effective CPU count, at least 1: `ceil(quota / period)` from cgroup v2 `cpu.max` or
    /// cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, capped by the active processor count.
    public static var effectiveCPUs: Int {
        let host = ProcessInfo.processInfo.activeProcessorCount
        guard let quota = cgroupQuota() else { return max(1, host) }
        return max(1, min(host, Int(quota.rounded(.up))))
    }

    /// The cgroup quota in CPUs, or `nil` when unlimited or unreadable.
    /// - Parameter root: Where the cgroup file system is mounted (tests pass a fake tree).
    public static func cgroupQuota(root: String = "/sys/fs/cgroup") -> Double? {
        // cgroup v2: "max 100000" or "200000 100000" in the process's own cgroup, falling back to the root.
        for path in v2Paths(root: root) {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                return parseCPUMax(text)
            }
        }
        // cgroup v1: quota -1 means unlimited.
        for dir in ["\(root)/cpu", "\(root)/cpu,cpuacct", "\(root)/cpuacct,cpu"] {
            if let q = try? String(contentsOfFile: "\(dir)/cpu.cfs_quota_us", encoding: .utf8),
               let p = try? String(contentsOfFile: "\(dir)/cpu.cfs_period_us", encoding: .utf8) {
                return parseV1(quota: q, period: p)
            }
        }
        return nil
    }

    /// Parses cgroup v2 `cpu.max` (`"max 100000"` or `"<quota> <period>"`) into CPUs.
    public static func parseCPUMax(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 1, parts[0] != "max", let quota = Double(parts[0]), quota > 0 else { return nil }
        let period = parts.count >= 2 ? Double(parts[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// Parses cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` into CPUs.
    public static func parseV1(quota: String, period: String) -> Double? {
        guard let q = Double(quota.trimmingCharacters(in: .whitespacesAndNewlines)), q > 0,
              let p = Double(period.trimmingCharacters(in: .whitespacesAndNewlines)), p > 0 else { return nil }
        return q / p
    }

    private static func v2Paths(root: String) -> [String] {
        var paths: [String] = []
        // "0::/kubepods/…" names this process's cgroup under the v2 mount.
        if let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) {
            for line in own.split(separator: "\n") where line.hasPrefix("0::") {
                let rel = line.dropFirst(3)
                if rel != "/" { paths.append("\(root)\(rel)/cpu.max") }
            }
        }
        paths.append("\(root)/cpu.max")
        return paths
    }
}
