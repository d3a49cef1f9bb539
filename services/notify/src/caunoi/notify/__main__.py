from caunoi.shared import footprint

footprint.leave_out(footprint.SERVICE)

from caunoi.notify.bootstrap import main  # noqa: E402

main()
