/**
 * Keeps its heap busy for a while, then exits 0: allocates 256 KiB blocks (small enough not to be "humongous"
 * for G1), touches every page, and keeps the most recent ones alive, so the garbage collector works all the
 * time and the heap stays full.
 *
 * <p>Arguments: MiB kept alive (default 32), seconds to run (default 30; 0 runs until stopped), MiB
 * allocated per second (default 200). Prints one line when it starts and one at the end.
 */
public final class Main {
    private static final int MIB = 1 << 20;
    private static final int BLOCK = MIB / 4;
    private static final int BLOCKS_PER_MIB = MIB / BLOCK;

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        int live = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 30.0;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        long start = System.nanoTime();
        long end = seconds > 0 ? start + (long) (seconds * 1e9) : Long.MAX_VALUE;
        byte[][] kept = new byte[Math.max(live, 1) * BLOCKS_PER_MIB][];
        System.out.println("heap-churner started live=" + live + "MiB rate=" + rate + "MiB/s max-heap="
                + Runtime.getRuntime().maxMemory() / MIB + "MiB");
        long allocated = 0;
        while (System.nanoTime() < end) {
            byte[] block = new byte[BLOCK];
            for (int i = 0; i < BLOCK; i += 4096) {
                block[i] = (byte) allocated;
            }
            kept[(int) (allocated % kept.length)] = block;
            allocated++;
            long due = start + allocated * 1_000_000_000L / ((long) Math.max(rate, 1) * BLOCKS_PER_MIB);
            long ahead = due - System.nanoTime();
            if (ahead > 0) {
                Thread.sleep(ahead / 1_000_000L, (int) (ahead % 1_000_000L));
            }
        }
        System.out.println("heap-churner done allocated=" + allocated / BLOCKS_PER_MIB + "MiB");
    }
}
