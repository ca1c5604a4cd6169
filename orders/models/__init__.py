from .customers import Customer, PackageLabourLine, PackagePartLine, PackagePrice, ServicePackage, Vehicle
from .repair_orders import (
    CommentLine,
    GogLine,
    Job,
    LabourLine,
    MlsLine,
    OrderHistory,
    OrderReference,
    PackageUse,
    PartLine,
    RepairOrder,
    TechHoursLine,
)

__all__ = [
    "CommentLine",
    "Customer",
    "GogLine",
    "Job",
    "LabourLine",
    "MlsLine",
    "OrderHistory",
    "OrderReference",
    "PackageLabourLine",
    "PackagePartLine",
    "PackagePrice",
    "PackageUse",
    "PartLine",
    "RepairOrder",
    "ServicePackage",
    "TechHoursLine",
    "Vehicle",
]
