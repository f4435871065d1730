import java.util.ArrayList;
import java.util.List;

/** Allocates and touches memory in 1 MiB blocks up to the MiB given as first argument, then exits 0. */
public final class Main {
    private static final int BLOCK = 1 << 20;

    private Main() {
    }

    public static void main(String[] given) {
        String[] args = Inputs.of(given);
        int target = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        List<byte[]> held = new ArrayList<>();
        for (int mib = 1; mib <= target; mib++) {
            byte[] block = new byte[BLOCK];
            for (int i = 0; i < BLOCK; i += 4096) {
                block[i] = 1;
            }
            held.add(block);
            if (mib % 16 == 0) {
                System.out.println("allocated " + mib + " MiB");
            }
        }
        System.out.println("memory-hog done: " + held.size() + " MiB held");
    }
}
