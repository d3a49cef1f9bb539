from caunoi.shared import footprint

footprint.leave_out(footprint.SERVICE)

from caunoi.scheduling.bootstrap import main  # noqa: E402

main()
