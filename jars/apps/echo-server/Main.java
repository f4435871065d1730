import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A line echo server for cross-node tests. Binds the address Nomad gave its port (NOMAD_IP_echo and
 * NOMAD_PORT_echo, or the label named in args[0]), then answers each connection's first line with
 * "echo: <line>" and logs who sent what, so both ends of an exchange can be proven from the logs.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws IOException {
        String label = args.length > 0 ? args[0] : "echo";
        String ip = required("NOMAD_IP_" + label);
        int port = Integer.parseInt(required("NOMAD_PORT_" + label));
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(ip, port));
            System.out.println("echo-server listening on " + ip + ":" + server.getLocalPort());
            while (true) {
                try (Socket peer = server.accept();
                        BufferedReader in = new BufferedReader(
                                new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
                        PrintWriter out = new PrintWriter(peer.getOutputStream(), true, StandardCharsets.UTF_8)) {
                    String line = in.readLine();
                    System.out.println("echo-server received '" + line + "' from "
                            + peer.getInetAddress().getHostAddress());
                    out.println("echo: " + line);
                } catch (IOException e) {
                    System.out.println("echo-server connection failed: " + e);
                }
            }
        }
    }

    private static String required(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            System.err.println("echo-server: " + name + " is not set; give the group a network port of that label");
            System.exit(2);
        }
        return value;
    }
}
