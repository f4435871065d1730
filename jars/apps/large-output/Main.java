import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Writes a known volume of stdout, then a closing line with the count and checksum of what it wrote.
 *
 * <p>Arguments: {@code lines <count> <width>} writes count numbered lines padded to width characters;
 * {@code mb <n>} writes n MiB of 1 KiB lines; {@code line <bytes>} writes one single line of that length.
 * The closing line is {@code DONE lines=<n> bytes=<n> sha256=<hex>}, over everything before it.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) throws IOException, NoSuchAlgorithmException {
        String[] args = Inputs.of(given);
        String mode = args.length > 0 ? args[0] : "lines";
        long count;
        int width;
        switch (mode) {
            case "mb":
                count = Long.parseLong(args[1]) * 1024;
                width = 1024;
                break;
            case "line":
                count = 1;
                width = Integer.parseInt(args[1]);
                break;
            default:
                count = args.length > 1 ? Long.parseLong(args[1]) : 1000;
                width = args.length > 2 ? Integer.parseInt(args[2]) : 80;
        }
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.UTF_8);
        long bytes = 0;
        for (long i = 1; i <= count; i++) {
            byte[] line = line(i, width);
            out.write(line);
            digest.update(line);
            bytes += line.length;
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : digest.digest()) {
            hex.append(String.format("%02x", b));
        }
        out.println("DONE lines=" + count + " bytes=" + bytes + " sha256=" + hex);
        out.flush();
    }

    /** Line i: its number, then a repeating alphabet, to width characters including the newline. */
    private static byte[] line(long i, int width) {
        StringBuilder text = new StringBuilder(width);
        text.append(i).append(' ');
        while (text.length() < width - 1) {
            text.append((char) ('a' + (text.length() % 26)));
        }
        text.setLength(Math.max(width - 1, 0));
        text.append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
