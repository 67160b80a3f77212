"""Write the quirk fixtures of tests/datasets/fixtures (run once; output is committed).

Each file is small and hand-made to hold one or more quirks of a public data
set, with values chosen so that the tests can assert the imported result.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "fixtures"

# MachineLearningCVE layout: leading spaces, duplicated ' Fwd Header Length'
# (second copy deliberately different), CRLF, Infinity/NaN, a repeated header
# row, a cp1252 en dash (byte 0x96) in a label, a truncated line, a bad number.
ML_HEADER = (
    " Destination Port, Flow Duration, Total Fwd Packets, Total Backward Packets,"
    "Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Header Length,"
    " Bwd Header Length,Flow Bytes/s, Flow Packets/s, Fwd Header Length, Label"
)
ML_ROWS = [
    "80,2000000,3,2,100,50,60,40,75,2.5,999,BENIGN",
    "22,Infinity,1,0,0,0,20,0,Infinity,Infinity,999,BENIGN",
    "443,1000,2,1,10,0,40,20,NaN,NaN,999,PortScan",
    ML_HEADER,
    "80,5000,4,4,0,0,80,80,0,1600,999,DoS Hulk",
    "80,100,1,1,5,5,20,20,0,0,999,Web Attack \u2013 Brute Force",
    "53,100,1",
    "53,100,abc,1,5,5,20,20,0,0,999,BENIGN",
    "80,100,NaN,1,5,5,20,20,0,0,999,BENIGN",
]

TRAFFIC_HEADER = (
    "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol,"
    " Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,"
    "Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Header Length,"
    " Bwd Header Length, Fwd Header Length, Label"
)
TRAFFIC_ROWS = [
    (
        "192.168.10.5-8.8.8.8-5000-53-17,192.168.10.5,5000,8.8.8.8,53,17,7/7/2017 3:30,"
        "1500,1,1,30,60,8,8,8,BENIGN"
    ),
    (
        "172.16.0.1-192.168.10.50-4000-80-6,172.16.0.1,4000,192.168.10.50,80,6,7/7/2017 9:05,"
        "0,2,0,0,0,40,0,40,DDoS"
    ),
    (
        "192.168.10.9-192.168.10.3-0-0-1,192.168.10.9,8,192.168.10.3,0,1,4/7/2017 11:59,"
        "10,1,1,56,56,8,8,8,BENIGN"
    ),
]

DDOS2019_HEADER = (
    "Unnamed: 0,Flow ID, Source IP, Source Port, Destination IP, Destination Port,"
    " Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,"
    "Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Header Length,"
    " Bwd Header Length,SimillarHTTP, Inbound, Label"
)
DDOS2019_ROWS = [
    (
        "1,f1,172.16.0.5,634,192.168.50.1,60495,17,2018-12-01 10:51:39.813448,28415,97,0,"
        "42680,0,776,0,0,1,DrDoS_DNS"
    ),
    "2,f2,172.16.0.5,5000,192.168.50.1,80,6,2018-12-01 13:30:00.000001,1,2,0,0,0,40,0,0,1,Syn",
    "3,f3,172.16.0.5,5001,192.168.50.1,4000,17,2018-12-01 13:31:00,1,2,0,0,0,16,0,0,1,UDP-lag",
    "4,f4,192.168.50.1,5001,8.8.8.8,53,17,2018-12-01 13:31:00,1,1,1,30,60,8,8,0,0,BENIGN",
]

CSE2018_HEADER = (
    "Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,"
    "TotLen Fwd Pkts,TotLen Bwd Pkts,Fwd Header Len,Bwd Header Len,Label"
)
CSE2018_ROWS = [
    "80,6,15/02/2018 08:31:01,1000000,2,1,0,0,40,20,DDOS attack-HOIC",
    CSE2018_HEADER,
    "443,6,15/02/2018 08:31:02,10,1,1,0,0,20,20,Benign",
]

# Zeek TSV with fields in an unusual order, a ragged line, (empty)/- markers,
# a repeated header block (same fields) and a #close line.
ZEEK_FIELDS = [
    "proto", "id.resp_p", "id.resp_h", "label", "conn_state", "ts", "id.orig_h",
    "id.orig_p", "orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes",
    "orig_ip_bytes", "resp_ip_bytes", "missed_bytes", "duration", "tunnel_parents",
    "detailedlabel",
]  # fmt: skip
ZEEK_ROWS = [
    ["tcp", "23", "147.32.81.167", "Malicious", "S0", "1655071231.749548",
     "193.201.9.232", "46563", "2", "0", "0", "0", "80", "0", "0", "0.000010",
     "(empty)", "External-Attack-to-Device"],
    ["udp", "53", "8.8.8.8", "Benign", "SF", "1655071300.5", "147.32.81.167",
     "5353", "1", "1", "-", "-", "76", "120", "0", "-", "(empty)", "Microsoft"],
    ["tcp", "443", "1.2.3.4", "Background", "-", "1655071400", "147.32.81.167"],
    ["icmp", "0", "147.32.81.1", "Background", "OTH", "1655071500.25",
     "147.32.81.167", "8", "3", "3", "-", "-", "252", "252", "0", "2.5",
     "(empty)", "(empty)"],
]  # fmt: skip

IOT23_FIELDS = (
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
    "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents   label   "
    "detailed-label"
)
IOT23_ROWS = [
    (
        "1545403816.962094\tC1\t192.168.1.195\t41040\t66.67.61.168\t63798\ttcp\t-\t-\t-\t-\t"
        "S0\t-\t-\t0\tS\t1\t40\t0\t0\t(empty)   Malicious   PartOfAHorizontalPortScan"
    ),
    (
        "1545403817.000000\tC2\t192.168.1.195\t41041\t123.59.209.185\t80\ttcp\t-\t1.5\t0\t0\t"
        "S0\t-\t-\t0\tS\t3\t180\t0\t0\t(empty)   Malicious   DDoS"
    ),
    (
        "1545403818.000000\tC3\t192.168.1.195\t123\t1.1.1.1\t123\tudp\t-\t0.1\t48\t48\t"
        "SF\t-\t-\t0\tDd\t1\t76\t1\t76\t(empty)   Benign   -"
    ),
    (
        "1545403819.000000\tC4\t192.168.1.195\t6667\t185.244.25.235\t6667\ttcp\t-\t0.1\t10\t10\t"
        "SF\t-\t-\t0\tDd\t1\t76\t1\t76\t(empty)   Malicious"
    ),
]

ARGUS_HEADER = (
    "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,"
    "TotBytes,SrcBytes,Label"
)
ARGUS_ROWS = [
    (
        "2011/08/10 09:46:59.607825,1.026539,tcp,94.44.127.113,1577,   ->,147.32.84.59,6881,"
        "S_RA,0,0,4,276,156,flow=Background-Established-cmpgw-CVUT"
    ),
    (
        "2011/08/10 09:47:00.000000,0.000000,icmp,147.32.84.165,0x0008,   ->,147.32.80.9,"
        "0x0303,ECO,0,,1,98,98,flow=From-Botnet-V42-ICMP"
    ),
    (
        "2011/08/10 09:47:01.500000,0.5,udp,147.32.84.165,0x0035,  <->,147.32.80.9,53,CON,0,0,"
        "2,200,80,flow=From-Normal-V42-UDP-DNS"
    ),
    (
        "2011/08/10 09:47:02,2.0,tcp,147.32.84.165,1025,   ->,10.0.0.1,0xzz,S_,0,0,3,180,180,"
        "flow=From-Botnet-V42-TCP-Attempt"
    ),
]

ZEEK_JSON_ROWS = [
    (
        '{"ts":1700828217.314165,"uid":"C1","id.orig_h":"192.168.1.9","id.orig_p":50820,'
        '"id.resp_h":"45.33.32.156","id.resp_p":443,"proto":"tcp","duration":0.2,'
        '"orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","missed_bytes":0,"orig_pkts":1,'
        '"orig_ip_bytes":60,"resp_pkts":1,"resp_ip_bytes":40}'
    ),
    '{"ts":1700828218.0,"id.orig_h":"192.168.1.9","id.orig_p":1,"id.resp_h":"45.33.32.156"',
    (
        '{"ts":1700828219.5,"uid":"C3","id.orig_h":"192.168.1.9","id.orig_p":5353,'
        '"id.resp_h":"192.168.1.1","id.resp_p":53,"proto":"udp","conn_state":"S0",'
        '"missed_bytes":0,"orig_pkts":1,"orig_ip_bytes":70,"resp_pkts":0,"resp_ip_bytes":0}'
    ),
]


def _csv(
    name: str, lines: list[str], newline: str = "\n", encoding: str = "utf-8"
) -> None:
    (HERE / name).write_bytes((newline.join(lines) + newline).encode(encoding))


def main() -> None:
    """Write every fixture."""
    HERE.mkdir(exist_ok=True)
    _csv("cic_machinelearningcve.csv", [ML_HEADER, *ML_ROWS], "\r\n", "cp1252")
    _csv("cic_trafficlabelling.csv", [TRAFFIC_HEADER, *TRAFFIC_ROWS])
    _csv("cic_ddos2019.csv", [DDOS2019_HEADER, *DDOS2019_ROWS])
    _csv("cse_cic_ids2018.csv", [CSE2018_HEADER, *CSE2018_ROWS])
    header = [
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
        "#unset_field\t-", "#path\tconn", "#open\t2022-06-17-00-00-07",
        "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(["string"] * len(ZEEK_FIELDS)),
    ]  # fmt: skip
    rows = ["\t".join(r) for r in ZEEK_ROWS]
    _csv(
        "zeek_shuffled.conn.log",
        [*header, *rows[:2], *header, *rows[2:], "#close\t2022"],
    )
    iot_header = ["#separator \\x09", "#unset_field\t-", "#fields\t" + IOT23_FIELDS]
    _csv("iot23.conn.log.labeled", [*iot_header, *IOT23_ROWS])
    _csv("ctu13.binetflow", [ARGUS_HEADER, *ARGUS_ROWS])
    _csv("zeek_json.conn.log", ZEEK_JSON_ROWS)


if __name__ == "__main__":
    main()
