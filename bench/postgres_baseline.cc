#include "bench/postgres_baseline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eventstore/event.h"
#include "libpq-fe.h"

namespace caseline::bench {

namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";

constexpr char kCreateTable[] = R"sql(
CREATE TABLE events (
  global_position bigserial PRIMARY KEY,
  stream_id text NOT NULL,
  stream_version bigint NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  data bytea NOT NULL,
  recorded_at timestamptz NOT NULL,
  UNIQUE (stream_id, stream_version)
))sql";

// $1 stream, $2 expected version (the stream's last version, 0 when new),
// $3 type, $4 event ids, $5 payloads. Inserts nothing when the stream has
// moved on; a concurrent writer to the same stream fails on the unique key.
constexpr char kAppend[] = R"sql(
INSERT INTO events (stream_id, stream_version, event_id, type, data, recorded_at)
SELECT $1, head.version + e.n, e.id, $3, e.data, now()
FROM (SELECT coalesce(max(stream_version), 0) AS version
      FROM events WHERE stream_id = $1) AS head,
     unnest($4::uuid[], $5::bytea[]) WITH ORDINALITY AS e(id, data, n)
WHERE head.version = $2::bigint)sql";

// A command's read of the stream's head ($1 the stream; 0 when empty).
constexpr char kHead[] = R"sql(
SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1)sql";

constexpr char kReadLast20[] = R"sql(
SELECT global_position, stream_version, event_id, type, data, recorded_at
FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 20)sql";

// A free loopback TCP port (the kernel's pick; released before returning).
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot pick a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// One connection per caller, with the statements prepared.
class Connections {
 public:
  Connections(const std::string& conninfo, int count) {
    for (int i = 0; i < count; ++i) {
      PGconn* conn = PQconnectdb(conninfo.c_str());
      conns_.push_back(conn);
      if (PQstatus(conn) != CONNECTION_OK) {
        error_ = PQerrorMessage(conn);
        return;
      }
      for (const auto& [name, sql] :
           {std::pair{"append", kAppend}, std::pair{"read", kReadLast20},
            std::pair{"head", kHead}}) {
        PGresult* r = PQprepare(conn, name, sql, 0, nullptr);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) error_ = PQerrorMessage(conn);
        PQclear(r);
      }
    }
  }
  ~Connections() {
    for (PGconn* c : conns_) PQfinish(c);
  }
  const std::string& error() const { return error_; }
  PGconn* operator[](int i) const { return conns_[i]; }

 private:
  std::vector<PGconn*> conns_;
  std::string error_;
};

// Appends `count` copies of `payload` to `stream` expecting `*version`;
// advances *version on success.
bool AppendEvents(PGconn* conn, const std::string& stream, uint64_t* version,
                  int count, const std::string& payload_hex_element) {
  std::vector<std::string> ids, datas;
  for (int i = 0; i < count; ++i) {
    ids.push_back(eventstore::EventId::Generate().ToString());
    datas.push_back(payload_hex_element);
  }
  const std::string expected = absl::StrCat(*version);
  const std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  const std::string data_array =
      absl::StrCat("{", absl::StrJoin(datas, ","), "}");
  const char* values[] = {stream.c_str(), expected.c_str(), "BenchmarkNoted",
                          id_array.c_str(), data_array.c_str()};
  PGresult* r = PQexecPrepared(conn, "append", 5, values, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
                  std::atoi(PQcmdTuples(r)) == count;
  PQclear(r);
  if (ok) *version += count;
  return ok;
}

// Runs a statement without parameters; whether it succeeded.
bool Exec(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok;
}

// What a care command does, in one transaction: read the stream's head,
// then append one event expecting that head.
bool ReadHeadAndAppend(PGconn* conn, const std::string& stream,
                       const std::string& payload_hex_element) {
  if (!Exec(conn, "BEGIN")) return false;
  const char* values[] = {stream.c_str()};
  PGresult* r = PQexecPrepared(conn, "head", 1, values, nullptr, nullptr, 0);
  uint64_t head = 0;
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  if (ok) head = std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
  PQclear(r);
  ok = ok && AppendEvents(conn, stream, &head, 1, payload_hex_element);
  if (!ok) {
    Exec(conn, "ROLLBACK");
    return false;
  }
  return Exec(conn, "COMMIT");
}

// An element of a bytea[] array literal: "\\x<hex>".
std::string HexElement(const std::string& payload) {
  return absl::StrCat("\"\\\\x", absl::BytesToHexString(payload), "\"");
}

}  // namespace

absl::Status PostgresBaseline::Run(const std::string& command) const {
  const std::string full =
      as_postgres_user_ ? absl::StrCat("runuser -u postgres -- ", command)
                        : command;
  const int rc = std::system(full.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat(
        "postgres baseline: `", full, "` exited with ", rc, "; see ", dir_,
        "/server.log"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresBaseline>> PostgresBaseline::Start() {
  std::unique_ptr<PostgresBaseline> pg(new PostgresBaseline);
  pg->bin_dir_ = kBinDir;
  if (!std::filesystem::exists(pg->bin_dir_ + "/initdb")) {
    return absl::UnavailableError(absl::StrCat(
        "PostgreSQL 15 is not installed (no ", pg->bin_dir_,
        "/initdb); run deploy/install_deps.sh or apt-get install "
        "postgresql-15"));
  }
  char tmpl[] = "/tmp/caseline-bench-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    return absl::InternalError("cannot create a temporary directory");
  }
  pg->dir_ = tmpl;
  if (geteuid() == 0) {
    // initdb refuses to run as root: the server runs as `postgres`.
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::UnavailableError(
          "running as root but there is no `postgres` user to run "
          "PostgreSQL as; install postgresql-15");
    }
    if (chown(pg->dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot chown ", pg->dir_));
    }
    pg->as_postgres_user_ = true;
  }
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  const std::string data = pg->dir_ + "/data";
  absl::Status s = pg->Run(absl::StrCat(
      pg->bin_dir_, "/initdb --no-sync -A trust -U postgres -E UTF8 -D ", data,
      " > ", pg->dir_, "/initdb.log 2>&1"));
  if (!s.ok()) return s;
  // synchronous_commit=on and fsync=on are PostgreSQL's defaults; named here
  // because the comparison depends on them.
  s = pg->Run(absl::StrCat(
      pg->bin_dir_, "/pg_ctl -D ", data, " -l ", pg->dir_,
      "/server.log -w -o \"-c listen_addresses=127.0.0.1 -p ", *port, " -k ",
      pg->dir_,
      " -c synchronous_commit=on -c fsync=on -c max_connections=300\" start"
      " > /dev/null"));
  if (!s.ok()) return s;
  pg->started_ = true;
  pg->conninfo_ = absl::StrCat("host=127.0.0.1 port=", *port,
                               " user=postgres dbname=postgres");
  PGconn* conn = PQconnectdb(pg->conninfo_.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("postgres baseline: cannot connect: ", error));
  }
  PGresult* r = PQexec(conn, kCreateTable);
  const bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  r = PQexec(conn, "SELECT split_part(current_setting('server_version'), ' ', 1)");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
    pg->version_ = absl::StrCat("postgresql ", PQgetvalue(r, 0, 0));
  }
  PQclear(r);
  const std::string error = PQerrorMessage(conn);
  PQfinish(conn);
  if (!created) {
    return absl::InternalError(
        absl::StrCat("postgres baseline: cannot create the table: ", error));
  }
  return pg;
}

PostgresBaseline::~PostgresBaseline() {
  if (started_) {
    Run(absl::StrCat(bin_dir_, "/pg_ctl -D ", dir_, "/data -m fast -w stop",
                     " > /dev/null"))
        .IgnoreError();
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Load PostgresBaseline::Append(int callers, int events_per_call,
                              const std::string& payload,
                              absl::Duration warmup, absl::Duration duration) {
  Connections conns(conninfo_, callers);
  if (!conns.error().empty()) {
    Load failed;
    failed.errors = 1;
    std::fprintf(stderr, "postgres baseline: %s\n", conns.error().c_str());
    return failed;
  }
  const int run = runs_++;
  const std::string element = HexElement(payload);
  std::vector<uint64_t> versions(callers, 0);
  return RunThreadClosedLoop(
      callers, events_per_call, warmup, duration, [&](int caller) {
        return AppendEvents(conns[caller],
                            absl::StrCat("case-", run, "-", caller),
                            &versions[caller], events_per_call, element);
      });
}

absl::Status PostgresBaseline::Populate(int streams, int events_each,
                                        const std::string& payload) {
  Connections conns(conninfo_, 1);
  if (!conns.error().empty()) return absl::UnavailableError(conns.error());
  const std::string element = HexElement(payload);
  for (int s = 0; s < streams; ++s) {
    uint64_t version = 0;
    if (!AppendEvents(conns[0], absl::StrCat("mixed-", s), &version,
                      events_each, element)) {
      return absl::InternalError("postgres baseline: populate failed");
    }
  }
  return absl::OkStatus();
}

Load PostgresBaseline::Mixed(int callers, int streams,
                             const std::string& payload,
                             absl::Duration warmup, absl::Duration duration) {
  Connections conns(conninfo_, callers);
  if (!conns.error().empty()) {
    Load failed;
    failed.errors = 1;
    return failed;
  }
  const int run = runs_++;
  const std::string element = HexElement(payload);
  std::vector<uint64_t> versions(callers, 0);
  std::vector<std::mt19937_64> random;
  random.reserve(callers);
  for (int c = 0; c < callers; ++c) random.emplace_back(c);
  return RunThreadClosedLoop(callers, 1, warmup, duration, [&](int caller) {
    std::mt19937_64& r = random[caller];
    if (r() % 5 == 0) {
      return AppendEvents(conns[caller],
                          absl::StrCat("mixed-writer-", run, "-", caller),
                          &versions[caller], 1, element);
    }
    const std::string stream = absl::StrCat("mixed-", r() % streams);
    const char* values[] = {stream.c_str()};
    PGresult* result =
        PQexecPrepared(conns[caller], "read", 1, values, nullptr, nullptr, 0);
    const bool ok =
        PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0;
    PQclear(result);
    return ok;
  });
}

Load PostgresBaseline::Command(int callers, int streams_per_caller,
                               const std::string& payload,
                               absl::Duration warmup, absl::Duration duration) {
  Connections conns(conninfo_, callers);
  if (!conns.error().empty()) {
    Load failed;
    failed.errors = 1;
    std::fprintf(stderr, "postgres baseline: %s\n", conns.error().c_str());
    return failed;
  }
  const int run = runs_++;
  const std::string element = HexElement(payload);
  // streams[c]: caller c's streams, each holding one event already (the
  // client's registration, in the command scenario).
  std::vector<std::vector<std::string>> streams(callers);
  for (int c = 0; c < callers; ++c) {
    for (int i = 0; i < streams_per_caller; ++i) {
      streams[c].push_back(absl::StrCat("client-", run, "-", c, "-", i));
      uint64_t version = 0;
      if (!AppendEvents(conns[c], streams[c].back(), &version, 1, element)) {
        Load failed;
        failed.errors = 1;
        std::fprintf(stderr, "postgres baseline: command set-up failed\n");
        return failed;
      }
    }
  }
  std::vector<uint64_t> sent(callers, 0);
  return RunThreadClosedLoop(callers, 1, warmup, duration, [&](int caller) {
    const std::vector<std::string>& mine = streams[caller];
    return ReadHeadAndAppend(conns[caller], mine[sent[caller]++ % mine.size()],
                             element);
  });
}

}  // namespace caseline::bench
