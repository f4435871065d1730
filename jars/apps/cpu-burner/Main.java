/**
 * Keeps threads busy computing for a while, then exits 0: a task that wants more CPU than it is given.
 *
 * <p>Arguments: threads (default 2), seconds to run (default 30; 0 runs until stopped). Prints one line
 * when the threads started and, at the end, how much work each thread did.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) throws InterruptedException {
        String[] args = Inputs.of(given);
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 30.0;
        long end = seconds > 0 ? System.nanoTime() + (long) (seconds * 1e9) : Long.MAX_VALUE;
        long[] work = new long[threads];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int slot = t;
            workers[t] = new Thread(() -> work[slot] = burn(end), "burner-" + t);
            workers[t].start();
        }
        System.out.println("cpu-burner started threads=" + threads + " seconds=" + seconds);
        long total = 0;
        for (int t = 0; t < threads; t++) {
            workers[t].join();
            total += work[t];
        }
        System.out.println("cpu-burner done work=" + total);
    }

    /** Spins until {@code end} (System.nanoTime); returns the number of rounds done. */
    private static long burn(long end) {
        long rounds = 0;
        long x = 1;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 100_000; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
            rounds++;
        }
        return x == 0 ? rounds + 1 : rounds;
    }
}
