import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reports, one {@code file=value} line each, the cgroup limit files of the container's own cgroup: cgroup v1
 * (memory/, cpu/) or v2 (the unified hierarchy), whichever is mounted. Also reports the CPU count and maximum
 * heap the JVM derived from them.
 *
 * <p>The own cgroup is found as the JVM finds it: its path in each hierarchy from /proc/self/cgroup, made
 * relative to the root the hierarchy is mounted from (/proc/self/mountinfo). A runtime usually mounts the
 * container's own cgroup at /sys/fs/cgroup/&lt;controller&gt;, but nested in another container it may mount the
 * whole hierarchy there.
 */
public final class Main {
    private static final List<String> FILES = List.of(
            "memory/memory.limit_in_bytes", "cpu/cpu.shares", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
            "memory.max", "cpu.max", "cpu.weight");
    // The key of the v2 hierarchy in the maps below (its /proc/self/cgroup line names no controller).
    private static final String UNIFIED = "";

    private Main() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, Path> dirs = ownCgroupDirs();
        for (String name : FILES) {
            int slash = name.indexOf('/');
            Path dir = dirs.get(slash < 0 ? UNIFIED : name.substring(0, slash));
            Path file = dir == null ? null : dir.resolve(name.substring(slash + 1));
            if (file != null && Files.isReadable(file)) {
                System.out.println(name + "=" + Files.readString(file).trim());
            }
        }
        dirs.forEach((controller, dir) ->
                System.out.println("cgroup." + (controller.isEmpty() ? "unified" : controller) + "=" + dir));
        System.out.println("jvm.availableProcessors=" + Runtime.getRuntime().availableProcessors());
        System.out.println("jvm.maxMemory=" + Runtime.getRuntime().maxMemory());
    }

    /** The directory of this process's own cgroup, by controller (memory, cpu) and for the unified hierarchy. */
    private static Map<String, Path> ownCgroupDirs() throws IOException {
        Map<String, String> own = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/cgroup"))) {
            String[] parts = line.split(":", 3);
            for (String controller : parts[1].split(",")) {
                own.put(controller, parts[2]);
            }
        }
        Map<String, Path> dirs = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            String[] tail = line.substring(line.indexOf(" - ") + 3).split(" ");
            String root = fields[3];
            String mountPoint = fields[4];
            if (tail[0].equals("cgroup2") && own.containsKey(UNIFIED)) {
                dirs.put(UNIFIED, below(mountPoint, root, own.get(UNIFIED)));
            } else if (tail[0].equals("cgroup")) {
                for (String option : tail[2].split(",")) {
                    if (own.containsKey(option) && (option.equals("memory") || option.equals("cpu"))) {
                        dirs.put(option, below(mountPoint, root, own.get(option)));
                    }
                }
            }
        }
        return dirs;
    }

    private static Path below(String mountPoint, String root, String path) {
        boolean inside = root.equals("/") || path.equals(root) || path.startsWith(root + "/");
        String relative = inside && !root.equals("/") ? path.substring(root.length()) : path;
        return Paths.get(mountPoint, relative.replaceFirst("^/+", ""));
    }
}
